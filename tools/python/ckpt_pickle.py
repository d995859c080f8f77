"""Pickle writer that reproduces, byte for byte, what Python's pickle module writes for the
Grok-1 `ckpt-0` files, for either numpy spelling and either protocol, and can stream payloads.

Why a custom pickler: numpy 2 spells its reconstruction globals `numpy._core...`, while the
released checkpoint (numpy 1.x) spells them `numpy.core...`. We build the same reduce tuples numpy
builds and let the standard pure-Python pickler emit the opcodes, substituting only the global's
module name. Large payloads can be produced chunk by chunk (`StreamedPayload`), written with the
exact header and framing pickle uses for large bytes, so a multi-GB tensor never sits in memory.

The output equals `pickle.dumps(obj, protocol)` of the C pickler for numpy-2 style (tested by
`selftest()`), and equals the numpy-1.26-written public-tiny fixture files for numpy-1 style.
"""
import io
import pickle
import struct
import sys
from dataclasses import dataclass

import numpy as np

_Base = pickle._Pickler  # pure-Python pickler: same opcodes and framing as the C one


@dataclass
class QuantizedWeight8bit:
    """Mirrors the reference's dataclass; pickled as `__main__.QuantizedWeight8bit`."""
    weight: object
    scales: object


QuantizedWeight8bit.__module__ = "__main__"
QuantizedWeight8bit.__qualname__ = "QuantizedWeight8bit"
# pickle checks that the class is reachable under the name it writes.
setattr(sys.modules["__main__"], "QuantizedWeight8bit", QuantizedWeight8bit)


class GlobalRef:
    """A `module.name` global written as pickle writes a class or function (STACK_GLOBAL)."""

    def __init__(self, module, name):
        self.module = sys.intern(module)
        self.name = sys.intern(name)

    def __call__(self, *args):  # pickle requires a callable reduce function; never called
        raise TypeError(f"{self.module}.{self.name} is a pickle reference only")


class StreamedPayload:
    """Array bytes produced lazily: `chunks()` yields bytes-like pieces totalling `nbytes`.
    `as_bytearray` selects the protocol-5 in-band PickleBuffer form (BYTEARRAY8)."""

    def __init__(self, nbytes, chunks, as_bytearray=False):
        self.nbytes = nbytes
        self.chunks = chunks
        self.as_bytearray = as_bytearray


class LazyArray:
    """A C-order array described by shape/dtype whose bytes come from a chunk generator."""

    def __init__(self, shape, dtype, chunks):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.chunks = chunks
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _numpy_modules(style):
    core = "numpy.core" if style == 1 else "numpy._core"
    return core + ".multiarray", core + ".numeric"


class CkptPickler(_Base):
    dispatch = _Base.dispatch.copy()

    def __init__(self, file, protocol, numpy_style):
        super().__init__(file, protocol=protocol)
        mm, num = _numpy_modules(numpy_style)
        self._reconstruct = GlobalRef(mm, "_reconstruct")
        self._frombuffer = GlobalRef(num, "_frombuffer")
        self._ndarray = GlobalRef("numpy", "ndarray")

    # -- arrays: the reduce tuples numpy's ndarray.__reduce_ex__ returns ------------------
    def reducer_override(self, obj):
        if isinstance(obj, (np.ndarray, LazyArray)):
            return self._reduce_array(obj)
        return NotImplemented

    def _reduce_array(self, a):
        lazy = isinstance(a, LazyArray)
        if not lazy:
            a = np.ascontiguousarray(a)
        payload = StreamedPayload(a.nbytes, a.chunks) if lazy else None
        # Protocol 5 uses an in-band PickleBuffer unless the dtype cannot export a buffer
        # (ml_dtypes' bfloat16 cannot: numpy then falls back to the protocol-2 form).
        if self.proto >= 5 and a.dtype.char != "E" and a.dtype.kind != "V":
            if payload is None:
                payload = StreamedPayload(a.nbytes, lambda a=a: iter([a.tobytes()]))
            payload.as_bytearray = True
            return (self._frombuffer, (payload, a.dtype, a.shape, "C"))
        if payload is None:
            payload = a.tobytes()
        # numpy builds a fresh `(0,)` per array (no memo hit on the second array of a file)
        return (self._reconstruct, (self._ndarray, tuple([0]), b"b"),
                (1, a.shape, a.dtype, False, payload))

    # -- globals under the spelling we choose ---------------------------------------------
    def save_globalref(self, obj):
        if self.proto < 4:
            raise pickle.PicklingError("ckpt pickles need protocol >= 4")
        self.save(obj.module)
        self.save(obj.name)
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)

    dispatch[GlobalRef] = save_globalref

    # -- payloads, with pickle's own size rules and large-bytes framing ------------------
    def save_streamed(self, obj):
        n = obj.nbytes
        target = self.framer._FRAME_SIZE_TARGET
        if obj.as_bytearray:
            header = pickle.BYTEARRAY8 + struct.pack("<Q", n)
        elif n <= 0xFF:
            header = pickle.SHORT_BINBYTES + struct.pack("<B", n)
        elif n > 0xFFFFFFFF:
            header = pickle.BINBYTES8 + struct.pack("<Q", n)
        else:
            header = pickle.BINBYTES + struct.pack("<I", n)
        large = n >= target and not (not obj.as_bytearray and n <= 0xFF)
        if large:
            if self.framer.current_frame:
                self.framer.commit_frame(force=True)
            self.framer.file_write(header)
            written = 0
            for chunk in obj.chunks():
                self.framer.file_write(chunk)
                written += len(chunk)
        else:
            data = b"".join(bytes(c) for c in obj.chunks())
            written = len(data)
            self.write(header + data)
        if written != n:
            raise ValueError(f"payload produced {written} bytes, expected {n}")
        self.memoize(obj)

    dispatch[StreamedPayload] = save_streamed


class _HashingWriter:
    def __init__(self, raw, hasher):
        self.raw, self.hasher, self.count = raw, hasher, 0

    def write(self, b):
        self.hasher.update(b)
        self.count += len(b)
        return self.raw.write(b)


def dump(obj, path, protocol, numpy_style):
    """Write `obj` to `path` (via a temporary name); returns (bytes, sha256 hex)."""
    import hashlib
    import os
    tmp = path + ".partial"
    h = hashlib.sha256()
    with open(tmp, "wb", buffering=1 << 20) as f:
        w = _HashingWriter(f, h)
        CkptPickler(w, protocol, numpy_style).dump(obj)
    os.replace(tmp, path)
    return w.count, h.hexdigest()


def dumps(obj, protocol, numpy_style):
    buf = io.BytesIO()
    CkptPickler(buf, protocol, numpy_style).dump(obj)
    return buf.getvalue()


def selftest():
    """numpy-2 style must equal the C pickler's output for every shape class we write."""
    import ml_dtypes
    rng = np.random.default_rng(0)
    cases = [
        rng.standard_normal(7).astype(np.float32),
        rng.standard_normal((300, 70)).astype(np.float32),       # BINBYTES in frame
        rng.standard_normal((300, 700)).astype(np.float32),      # large bytes, outside frame
        QuantizedWeight8bit(rng.integers(-127, 128, (64, 16), dtype=np.int8),
                            np.ones((1, 16), ml_dtypes.bfloat16)),
        QuantizedWeight8bit(rng.integers(-127, 128, (8, 200, 344), dtype=np.int8),
                            rng.standard_normal((8, 8, 344)).astype(ml_dtypes.bfloat16)),
        QuantizedWeight8bit(rng.integers(-127, 128, (8, 20, 3), dtype=np.int8),
                            rng.standard_normal((8, 1, 3)).astype(ml_dtypes.bfloat16)),
    ]
    for proto in (4, 5):
        for i, c in enumerate(cases):
            ref = pickle.dumps(c, protocol=proto)
            ours = dumps(c, proto, 2)
            assert ours == ref, f"protocol {proto} case {i}: differs from pickle.dumps"
            back = pickle.loads(ours)
            if isinstance(c, np.ndarray):
                assert np.array_equal(back, c)
    # Streamed payloads must produce exactly the bytes of the in-memory array.
    for proto in (4, 5):
        for style in (1, 2):
            a = rng.standard_normal((300, 700)).astype(np.float32)
            q = rng.integers(-127, 128, (8, 40, 300), dtype=np.int8)
            s = rng.standard_normal((8, 8, 300)).astype(ml_dtypes.bfloat16)

            def pieces(arr, n=7):
                raw = arr.tobytes()
                step = len(raw) // n + 1
                return lambda: (raw[i:i + step] for i in range(0, len(raw), step))
            lazy_a = LazyArray(a.shape, a.dtype, pieces(a))
            assert dumps(lazy_a, proto, style) == dumps(a, proto, style), (proto, style)
            lazy_q = QuantizedWeight8bit(LazyArray(q.shape, q.dtype, pieces(q)), s)
            assert dumps(lazy_q, proto, style) == dumps(QuantizedWeight8bit(q, s), proto, style)
    return True


if __name__ == "__main__":
    print("selftest", selftest())
