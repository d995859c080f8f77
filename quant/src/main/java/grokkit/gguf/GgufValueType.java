package grokkit.gguf;

/** The value types of GGUF metadata (GGUF specification, version 3), with their ids. */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, -1), ARRAY(9, -1), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    public int id() { return id; }

    /** Bytes of one value; -1 for the variable-length string and array. */
    public int size() { return size; }

    /** The type with this id, or null. */
    public static GgufValueType byId(int id) {
        for (GgufValueType t : values()) if (t.id == id) return t;
        return null;
    }

    /** Lower-case name as GGUF tools print it ({@code u32}, {@code str}, {@code arr}). */
    public String shortName() {
        return switch (this) {
            case UINT8 -> "u8"; case INT8 -> "i8"; case UINT16 -> "u16"; case INT16 -> "i16";
            case UINT32 -> "u32"; case INT32 -> "i32"; case FLOAT32 -> "f32"; case BOOL -> "bool";
            case STRING -> "str"; case ARRAY -> "arr"; case UINT64 -> "u64"; case INT64 -> "i64"; case FLOAT64 -> "f64";
        };
    }
}
