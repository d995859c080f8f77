package grokkit.pickle;

import java.util.List;

/**
 * The only globals a checkpoint pickle may name. A global is never looked up or loaded: it is
 * matched against these spellings and becomes a marker that {@link PickleCalls} interprets
 * as plain data. Anything else is refused by name.
 */
public enum AllowedGlobal {
    /** {@code _reconstruct(ndarray, (0,), b'b')}: an empty array that a BUILD then fills. */
    NUMPY_RECONSTRUCT("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"),
    /** The array class, only as the first argument of {@code _reconstruct}. */
    NUMPY_NDARRAY("numpy.ndarray"),
    /** {@code dtype(code, False, True)} followed by a BUILD with the byte order. */
    NUMPY_DTYPE("numpy.dtype"),
    /** Protocol 5's {@code _frombuffer(buffer, dtype, shape, order)}. */
    NUMPY_FROMBUFFER("numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer"),
    /** The scalar type of bf16 arrays; appears as the first argument of {@code numpy.dtype}. */
    ML_DTYPES_BFLOAT16("ml_dtypes.bfloat16"),
    /** xAI's dataclass with fields {@code weight} (int8) and {@code scales} (bf16). */
    QUANTIZED_WEIGHT_8BIT("__main__.QuantizedWeight8bit", "model.QuantizedWeight8bit");

    private final List<String> spellings;

    AllowedGlobal(String... spellings) {
        this.spellings = List.of(spellings);
    }

    /** The allowed global named {@code module.name}, or null. */
    public static AllowedGlobal lookup(String module, String name) {
        String qualified = module + "." + name;
        for (AllowedGlobal g : values()) if (g.spellings.contains(qualified)) return g;
        return null;
    }

    public String pythonName() {
        return spellings.getFirst();
    }
}
