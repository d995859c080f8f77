package grokkit.checkpoint;

import grokkit.pickle.NumpyDtype;

/** Element types an array in a checkpoint pickle can have, from numpy's dtype code. */
public enum DType {
    F32("f4", "float32", 4),
    BF16("bfloat16", "bfloat16", 2),
    INT8("i1", "int8", 1),
    F16("f2", "float16", 2),
    F64("f8", "float64", 8),
    UINT8("u1", "uint8", 1),
    INT16("i2", "int16", 2),
    UINT16("u2", "uint16", 2),
    INT32("i4", "int32", 4),
    UINT32("u4", "uint32", 4),
    INT64("i8", "int64", 8),
    UINT64("u8", "uint64", 8),
    BOOL("b1", "bool", 1);

    private final String numpyCode;
    private final String displayName;
    private final int itemSize;

    DType(String numpyCode, String displayName, int itemSize) {
        this.numpyCode = numpyCode;
        this.displayName = displayName;
        this.itemSize = itemSize;
    }

    public int itemSize() {
        return itemSize;
    }

    /** numpy's name: {@code float32}, {@code bfloat16}, {@code int8}, ... */
    public String displayName() {
        return displayName;
    }

    /** The DType of a pickled numpy dtype; null if it has none here. */
    public static DType of(NumpyDtype d) {
        for (DType t : values()) if (t.numpyCode.equals(d.code())) return t;
        return null;
    }

    @Override
    public String toString() {
        return displayName;
    }
}
