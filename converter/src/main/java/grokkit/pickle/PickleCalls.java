package grokkit.pickle;

import grokkit.pickle.PickleValue.ArrayValue;
import grokkit.pickle.PickleValue.Bool;
import grokkit.pickle.PickleValue.Bytes;
import grokkit.pickle.PickleValue.Dict;
import grokkit.pickle.PickleValue.DtypeValue;
import grokkit.pickle.PickleValue.Global;
import grokkit.pickle.PickleValue.Int;
import grokkit.pickle.PickleValue.ObjectValue;
import grokkit.pickle.PickleValue.Str;
import grokkit.pickle.PickleValue.Tuple;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * What REDUCE, NEWOBJ and BUILD mean for the allowed globals, written out as data
 * transformations. Each accepts exactly the argument shapes numpy and dataclasses pickle
 * produce and refuses anything else; nothing is called, loaded or instantiated.
 */
final class PickleCalls {
    /** numpy type codes we accept, with their item sizes. Object arrays ('O') are refused. */
    private static final Map<String, Integer> NUMPY_CODES = Map.ofEntries(
            Map.entry("b1", 1), Map.entry("i1", 1), Map.entry("u1", 1),
            Map.entry("i2", 2), Map.entry("u2", 2), Map.entry("f2", 2),
            Map.entry("i4", 4), Map.entry("u4", 4), Map.entry("f4", 4),
            Map.entry("i8", 8), Map.entry("u8", 8), Map.entry("f8", 8));
    static final String BFLOAT16 = "bfloat16";

    /** Raised with a message; the machine adds file and offset. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private final MemorySegment data;

    PickleCalls(MemorySegment data) {
        this.data = data;
    }

    /** REDUCE: {@code callable(*args)}. */
    PickleValue reduce(PickleValue callable, PickleValue args) throws Refused {
        if (!(callable instanceof Global g)) throw new Refused("REDUCE of " + callable.describe() + ", which is not a callable global");
        Tuple a = tupleArgs(args, g);
        return switch (g.global()) {
            case NUMPY_RECONSTRUCT -> reconstruct(a);
            case NUMPY_DTYPE -> dtype(a);
            case NUMPY_FROMBUFFER -> fromBuffer(a);
            default -> throw new Refused("calling " + g.global().pythonName() + " is not allowed");
        };
    }

    /** NEWOBJ: {@code cls.__new__(cls, *args)}; only for QuantizedWeight8bit with no arguments. */
    PickleValue newObj(PickleValue cls, PickleValue args) throws Refused {
        if (!(cls instanceof Global g) || g.global() != AllowedGlobal.QUANTIZED_WEIGHT_8BIT)
            throw new Refused("NEWOBJ of " + cls.describe() + " is not allowed (only QuantizedWeight8bit)");
        Tuple a = tupleArgs(args, g);
        if (a.size() != 0) throw new Refused("NEWOBJ of " + g.global().pythonName() + " with arguments " + a.describe());
        return new ObjectValue(g.global());
    }

    /** BUILD: set the state of an object made by REDUCE or NEWOBJ. */
    void build(PickleValue target, PickleValue state) throws Refused {
        switch (target) {
            case ArrayValue arr when arr.built == null -> buildArray(arr, state);
            case DtypeValue dt when dt.built == null -> buildDtype(dt, state);
            case ObjectValue obj when obj.state == null -> {
                if (!(state instanceof Dict d)) throw new Refused("BUILD of " + obj.type.pythonName() + " with state " + state.describe() + ", expected a dict");
                for (int i = 0; i < d.entryCount(); i++)
                    if (!(d.key(i) instanceof Str)) throw new Refused("BUILD of " + obj.type.pythonName() + ": attribute name " + d.key(i).describe() + " is not a string");
                obj.state = d;
            }
            default -> throw new Refused("BUILD of " + target.describe() + " is not allowed");
        }
    }

    private static Tuple tupleArgs(PickleValue args, Global g) throws Refused {
        if (!(args instanceof Tuple t)) throw new Refused("arguments of " + g.global().pythonName() + " must be a tuple, got " + args.describe());
        return t;
    }

    /** {@code _reconstruct(numpy.ndarray, (0,), b'b')} → an empty array awaiting BUILD. */
    private PickleValue reconstruct(Tuple a) throws Refused {
        boolean ok = a.size() == 3
                && a.get(0) instanceof Global cls && cls.global() == AllowedGlobal.NUMPY_NDARRAY
                && a.get(1) instanceof Tuple shape && shape.size() == 1 && shape.get(0) instanceof Int zero && zero.value() == 0
                && a.get(2) instanceof Bytes b && b.length() == 1 && data.get(ValueLayout.JAVA_BYTE, b.offset()) == 'b';
        if (!ok) throw new Refused("_reconstruct" + a.describe() + ": expected (numpy.ndarray, (0,), b'b')");
        return new ArrayValue();
    }

    /** {@code numpy.dtype('f4' | ml_dtypes.bfloat16, False, True)} → a dtype awaiting BUILD. */
    private static PickleValue dtype(Tuple a) throws Refused {
        if (a.size() != 3 || !(a.get(1) instanceof Bool) || !(a.get(2) instanceof Bool))
            throw new Refused("numpy.dtype" + a.describe() + ": expected (code, align, copy)");
        PickleValue spec = a.get(0);
        if (spec instanceof Global g && g.global() == AllowedGlobal.ML_DTYPES_BFLOAT16) return new DtypeValue(BFLOAT16);
        if (spec instanceof Str s && NUMPY_CODES.containsKey(s.value())) return new DtypeValue(s.value());
        throw new Refused("numpy.dtype(" + spec.describe() + "): unsupported dtype (allowed: "
                + String.join(", ", new java.util.TreeSet<>(NUMPY_CODES.keySet())) + ", ml_dtypes.bfloat16)");
    }

    /** dtype state {@code (3, byteorder, None, None, None, elsize, alignment, flags)}. */
    private static void buildDtype(DtypeValue dt, PickleValue state) throws Refused {
        if (!(state instanceof Tuple t) || t.size() != 8 || !(t.get(0) instanceof Int version) || version.value() != 3
                || !(t.get(1) instanceof Str order) || !(t.get(5) instanceof Int elsize)
                || t.get(2) != PickleValue.None.NONE || t.get(3) != PickleValue.None.NONE || t.get(4) != PickleValue.None.NONE)
            throw new Refused("dtype state " + state.describe() + ": expected (3, byteorder, None, None, None, elsize, alignment, flags)"
                    + " (structured, sub-array and metadata dtypes are not supported)");
        int itemSize;
        if (dt.code.equals(BFLOAT16)) {
            if (elsize.value() != 2) throw new Refused("bfloat16 dtype with item size " + elsize.value() + ", expected 2");
            itemSize = 2;
        } else {
            itemSize = NUMPY_CODES.get(dt.code);
            if (elsize.value() != -1 && elsize.value() != itemSize)
                throw new Refused("dtype '" + dt.code + "' with item size " + elsize.value() + ", expected " + itemSize);
        }
        String o = order.value();
        char byteOrder = o.length() == 1 ? o.charAt(0) : '?';
        boolean valid = itemSize == 1 ? byteOrder == '|' : (byteOrder == '<' || byteOrder == '>');
        if (!valid) throw new Refused("dtype '" + dt.code + "' with byte order '" + o + "'");
        dt.built = new NumpyDtype(dt.code, byteOrder, itemSize);
    }

    /** ndarray state {@code (1, shape, dtype, is_fortran, rawdata)}. */
    private static void buildArray(ArrayValue arr, PickleValue state) throws Refused {
        if (!(state instanceof Tuple t) || t.size() != 5 || !(t.get(0) instanceof Int version) || version.value() != 1
                || !(t.get(1) instanceof Tuple shape) || !(t.get(2) instanceof DtypeValue dt)
                || !(t.get(3) instanceof Bool fortran) || !(t.get(4) instanceof Bytes data))
            throw new Refused("ndarray state " + state.describe() + ": expected (1, shape, dtype, is_fortran, bytes)");
        arr.built = array(dt, shape, fortran.value(), data);
    }

    /** {@code _frombuffer(buffer, dtype, shape, order)} → a complete array. */
    private static PickleValue fromBuffer(Tuple a) throws Refused {
        if (a.size() != 4 || !(a.get(0) instanceof Bytes data) || !(a.get(1) instanceof DtypeValue dt)
                || !(a.get(2) instanceof Tuple shape) || !(a.get(3) instanceof Str order)
                || !(order.value().equals("C") || order.value().equals("F")))
            throw new Refused("_frombuffer" + a.describe() + ": expected (buffer, dtype, shape, 'C' or 'F')");
        return new ArrayValue(array(dt, shape, order.value().equals("F"), data));
    }

    private static NumpyArray array(DtypeValue dt, Tuple shapeTuple, boolean fortran, Bytes data) throws Refused {
        if (dt.built == null) throw new Refused("array with a dtype that was never built");
        long[] shape = new long[shapeTuple.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeTuple.get(i) instanceof Int d) || d.value() < 0)
                throw new Refused("array shape " + shapeTuple.describe() + " must hold non-negative integers");
            shape[i] = d.value();
            try {
                count = Math.multiplyExact(count, d.value());
            } catch (ArithmeticException e) {
                throw new Refused("array shape " + shapeTuple.describe() + " overflows");
            }
        }
        long expected;
        try {
            expected = Math.multiplyExact(count, (long) dt.built.itemSize());
        } catch (ArithmeticException e) {
            throw new Refused("array shape " + shapeTuple.describe() + " overflows");
        }
        if (expected != data.length())
            throw new Refused("array " + dt.built + " of shape " + shapeTuple.describe() + " needs " + expected
                    + " bytes but its payload has " + data.length());
        return new NumpyArray(dt.built, shape, fortran, data.offset(), data.length());
    }
}
