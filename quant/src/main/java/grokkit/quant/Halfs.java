package grokkit.quant;

/**
 * 16-bit float conversions: bfloat16 (the upper half of a float32) and IEEE half (f16).
 * Both round to nearest, ties to even, as numpy/ml_dtypes and llama.cpp's FP32→FP16 do.
 */
public final class Halfs {
    private Halfs() {}

    /** float32 → bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x0040);
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    /** bfloat16 bits → float32 (exact). */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** float32 → IEEE half bits, round to nearest even (overflow → ±infinity). */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    /** IEEE half bits → float32 (exact). */
    public static float f16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** Encodes a scale in {@code scaleType} ("bf16" or "f16"). */
    public static short toScale(float f, String scaleType) {
        // equals, not a string switch: the switch hashes the string on every call (the type
        // strings reach here uncached), which showed in conversion profiles (docs/benchmarks/encoders.md).
        if ("bf16".equals(scaleType)) return floatToBf16(f);
        if ("f16".equals(scaleType)) return floatToF16(f);
        throw new IllegalArgumentException("unknown scale type " + scaleType);
    }

    /** Decodes a scale stored in {@code scaleType}. */
    public static float fromScale(short h, String scaleType) {
        if ("bf16".equals(scaleType)) return bf16ToFloat(h);
        if ("f16".equals(scaleType)) return f16ToFloat(h);
        throw new IllegalArgumentException("unknown scale type " + scaleType);
    }

    /** {@code f} rounded to the nearest value representable in {@code scaleType}. */
    public static float roundToScale(float f, String scaleType) {
        return fromScale(toScale(f, scaleType), scaleType);
    }

    /** The largest finite value of {@code scaleType}. */
    public static float maxFinite(String scaleType) {
        return "f16".equals(scaleType) ? 65504f : Float.intBitsToFloat(0x7f7f0000);
    }
}
