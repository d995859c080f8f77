package grokkit.pickle;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static grokkit.pickle.PickleOpcodes.*;

/**
 * Writes checkpoint pickles byte for byte the way Python's {@code pickle} (protocols 3-5) and
 * numpy 1.x/2.x write them: arrays via {@code _reconstruct} + BUILD (or protocol 5's
 * {@code _frombuffer} with a BYTEARRAY8 buffer), bf16 dtypes via {@code ml_dtypes.bfloat16},
 * and {@code QuantizedWeight8bit} via NEWOBJ + BUILD of its {@code __dict__}. Used to make
 * synthetic checkpoints for tests without Python; also exposes raw opcodes so tests can build
 * hostile files.
 *
 * <p>Framing follows CPython: opcodes are grouped in FRAMEs of about 64 KiB, and payloads of
 * 64 KiB or more are written outside frames.
 */
public final class PickleWriter {
    /** Which module names numpy uses: {@code numpy.core} (1.x) or {@code numpy._core} (2.x). */
    public enum NumpyStyle {
        NUMPY1("numpy.core"), NUMPY2("numpy._core");
        final String core;

        NumpyStyle(String core) {
            this.core = core;
        }
    }

    private static final int FRAME_TARGET = 64 * 1024;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private ByteArrayOutputStream frame = new ByteArrayOutputStream();
    private final int protocol;
    private final NumpyStyle style;
    private final Map<String, Integer> memoized = new HashMap<>();
    private int memoCount;
    private long holeAt = -1;
    private long holeLength;

    public PickleWriter(int protocol, NumpyStyle style) {
        if (protocol < 3 || protocol > 5) throw new IllegalArgumentException("protocol 3 to 5");
        this.protocol = protocol;
        this.style = style;
        raw(PROTO, protocol);
        commit(true);
    }

    public int protocol() {
        return protocol;
    }

    // ---- raw opcodes (also for building hostile inputs)

    /** Appends raw bytes to the current frame. */
    public PickleWriter raw(int... bytes) {
        for (int b : bytes) frame.write(b);
        return this;
    }

    public PickleWriter raw(byte[] bytes) {
        frame.writeBytes(bytes);
        return this;
    }

    public PickleWriter op(int opcode) {
        return raw(opcode);
    }

    public PickleWriter u32(long v) {
        for (int i = 0; i < 4; i++) frame.write((int) (v >>> (8 * i)));
        return this;
    }

    public PickleWriter u64(long v) {
        for (int i = 0; i < 8; i++) frame.write((int) (v >>> (8 * i)));
        return this;
    }

    public PickleWriter memoize() {
        if (protocol >= 4) raw(MEMOIZE);
        else if (memoCount < 256) raw(BINPUT, memoCount);
        else raw(LONG_BINPUT).u32(memoCount);
        memoCount++;
        return this;
    }

    public PickleWriter string(String s) {
        Integer m = memoized.get("s:" + s);
        if (m != null) return get(m);
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (protocol >= 4 && b.length < 256) raw(SHORT_BINUNICODE, b.length);
        else raw(BINUNICODE).u32(b.length);
        raw(b);
        memoized.put("s:" + s, memoCount);
        return memoize();
    }

    private PickleWriter get(int index) {
        if (index < 256) return raw(BINGET, index);
        return raw(LONG_BINGET).u32(index);
    }

    /** A global as Python spells it in this protocol (GLOBAL text line, or STACK_GLOBAL). */
    public PickleWriter global(String module, String name) {
        Integer m = memoized.get("g:" + module + "." + name);
        if (m != null) return get(m);
        if (protocol >= 4) {
            string(module);
            string(name);
            raw(STACK_GLOBAL);
        } else {
            raw(GLOBAL).raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }
        memoized.put("g:" + module + "." + name, memoCount);
        return memoize();
    }

    public PickleWriter integer(long v) {
        if (v >= 0 && v < 256) return raw(BININT1, (int) v);
        if (v >= 0 && v < 65536) return raw(BININT2, (int) (v & 0xff), (int) (v >>> 8));
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) return raw(BININT).u32(v);
        raw(LONG1, 8);
        for (int i = 0; i < 8; i++) frame.write((int) (v >>> (8 * i)));
        return this;
    }

    public PickleWriter bool(boolean b) {
        return raw(b ? NEWTRUE : NEWFALSE);
    }

    public PickleWriter tuple(int n) {
        switch (n) {
            case 0 -> raw(EMPTY_TUPLE);
            case 1 -> raw(TUPLE1);
            case 2 -> raw(TUPLE2);
            case 3 -> raw(TUPLE3);
            default -> raw(TUPLE);
        }
        return this;
    }

    /** Header of a bytes payload: the opcode and its length. The payload must follow. */
    public PickleWriter bytesHeader(long length, boolean bytearray) {
        if (bytearray) return raw(BYTEARRAY8).u64(length);
        if (length < 256) return raw(SHORT_BINBYTES, (int) length);
        if (length <= 0xffffffffL) return raw(BINBYTES).u32(length);
        return raw(BINBYTES8).u64(length);
    }

    /** A bytes payload; large ones are written outside frames, as CPython does. */
    public PickleWriter bytes(byte[] payload, boolean bytearray) {
        if (payload.length >= FRAME_TARGET && protocol >= 4) {
            commit(true);
            bytesHeader(payload.length, bytearray);
            out.writeBytes(frame.toByteArray());
            frame = new ByteArrayOutputStream();
            out.writeBytes(payload);
        } else {
            bytesHeader(payload.length, bytearray);
            raw(payload);
        }
        return memoize();
    }

    /**
     * A bytes payload of {@code length} zero bytes that {@link #writeTo} leaves as a hole in a
     * sparse file: lets tests make multi-GB checkpoint files without writing the data. At most one.
     */
    public PickleWriter bytesHole(long length, boolean bytearray) {
        if (holeAt >= 0) throw new IllegalStateException("one hole per pickle");
        commit(true);
        bytesHeader(length, bytearray);
        out.writeBytes(frame.toByteArray());
        frame = new ByteArrayOutputStream();
        holeAt = out.size();
        holeLength = length;
        return memoize();
    }

    /** Writes the pickle to {@code file}; a {@link #bytesHole} becomes a sparse region. */
    public void writeTo(java.nio.file.Path file) throws java.io.IOException {
        byte[] all = toByteArray();
        if (holeAt < 0) {
            java.nio.file.Files.write(file, all);
            return;
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(0);
            f.write(all, 0, (int) holeAt);
            f.setLength(holeAt + holeLength);
            f.seek(holeAt + holeLength);
            f.write(all, (int) holeAt, all.length - (int) holeAt);
        }
    }

    public PickleWriter stop() {
        raw(STOP);
        commit(true);
        return this;
    }

    public byte[] toByteArray() {
        commit(true);
        return out.toByteArray();
    }

    private void commit(boolean force) {
        if (frame.size() == 0 || (!force && frame.size() < FRAME_TARGET)) return;
        if (protocol >= 4 && frame.size() >= 4 && out.size() > 0) {
            out.write(FRAME);
            long n = frame.size();
            for (int i = 0; i < 8; i++) out.write((int) (n >>> (8 * i)));
        }
        out.writeBytes(frame.toByteArray());
        frame = new ByteArrayOutputStream();
    }

    // ---- numpy arrays and QuantizedWeight8bit, as numpy and dataclasses pickle them

    /**
     * A numpy dtype: {@code dtype(code, False, True)} + BUILD {@code (3, order, None, None, None, elsize, align, flags)}.
     *
     * @param code {@code f4}, {@code i1}, ... or {@code bfloat16}
     */
    public PickleWriter dtype(String code, char byteOrder) {
        global("numpy", "dtype");
        boolean bf16 = code.equals("bfloat16");
        if (bf16) global("ml_dtypes", "bfloat16");
        else string(code);
        raw(NEWFALSE, NEWTRUE, TUPLE3);
        memoize();
        raw(REDUCE);
        memoize();
        raw(MARK);
        integer(3);
        string(String.valueOf(byteOrder));
        raw(NONE, NONE, NONE);
        if (bf16) integer(2).integer(2).integer(64);
        else integer(-1).integer(-1).integer(0);
        raw(TUPLE);
        memoize();
        return raw(BUILD);
    }

    /**
     * A C-ordered numpy array. Protocol 5 uses {@code _frombuffer} for buffer-capable dtypes
     * (numpy's choice; ml_dtypes' bf16 still goes through {@code _reconstruct}).
     */
    public PickleWriter array(String code, char byteOrder, long[] shape, byte[] payload) {
        return array(code, byteOrder, shape, payload, -1);
    }

    /** As {@link #array}, with a {@link #bytesHole} of {@code holeLength} bytes as the payload. */
    public PickleWriter sparseArray(String code, char byteOrder, long[] shape, long holeLength) {
        return array(code, byteOrder, shape, null, holeLength);
    }

    private PickleWriter array(String code, char byteOrder, long[] shape, byte[] payload, long holeLength) {
        if (protocol == 5 && !code.equals("bfloat16")) {
            global(style.core + ".numeric", "_frombuffer");
            raw(MARK);
            if (payload == null) bytesHole(holeLength, true);
            else bytes(payload, true);
            dtype(code, byteOrder);
            shapeTuple(shape);
            string("C");
            raw(TUPLE);
            memoize();
            raw(REDUCE);
            return memoize();
        }
        global(style.core + ".multiarray", "_reconstruct");
        global("numpy", "ndarray");
        integer(0).tuple(1).memoize();
        bytes(new byte[]{'b'}, false);
        raw(TUPLE3);
        memoize();
        raw(REDUCE);
        memoize();
        raw(MARK);
        integer(1);
        shapeTuple(shape);
        dtype(code, byteOrder);
        bool(false);
        if (payload == null) bytesHole(holeLength, false);
        else bytes(payload, false);
        raw(TUPLE);
        memoize();
        return raw(BUILD);
    }

    private void shapeTuple(long[] shape) {
        if (shape.length > 3) raw(MARK);
        for (long d : shape) integer(d);
        tuple(shape.length);
        memoize();
    }

    /** {@code QuantizedWeight8bit(weight=int8 array, scales=bf16 array)} on {@code module} ("__main__" or "model"). */
    public PickleWriter quantizedWeight(String module, long[] weightShape, byte[] weight, long[] scalesShape, byte[] scales) {
        return quantizedWeight(module, weightShape, weight, -1, scalesShape, scales);
    }

    /** As {@link #quantizedWeight}, the weight's payload a {@link #bytesHole} (zeros) of the right size. */
    public PickleWriter sparseQuantizedWeight(String module, long[] weightShape, long[] scalesShape, byte[] scales) {
        long n = 1;
        for (long d : weightShape) n = Math.multiplyExact(n, d);
        return quantizedWeight(module, weightShape, null, n, scalesShape, scales);
    }

    private PickleWriter quantizedWeight(String module, long[] weightShape, byte[] weight, long weightHole,
                                         long[] scalesShape, byte[] scales) {
        global(module, "QuantizedWeight8bit");
        raw(EMPTY_TUPLE, NEWOBJ);
        memoize();
        raw(EMPTY_DICT);
        memoize();
        raw(MARK);
        string("weight");
        array("i1", '|', weightShape, weight, weightHole);
        string("scales");
        array("bfloat16", '<', scalesShape, scales);
        raw(SETITEMS, BUILD);
        return this;
    }
}
