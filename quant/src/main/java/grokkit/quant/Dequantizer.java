package grokkit.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The scalar reference dequantization of every encoding in {@link EncodingSpec}: reads one
 * out-major row (the {@code in} weights feeding output {@code o}) from the weights and scales
 * regions. Slow and obviously correct; tests and {@link ScalarMatrices} use it, the Vector API
 * kernels must agree with it.
 */
public final class Dequantizer {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequantizer() {}

    /** Row {@code o} (column o of W) into {@code dst[0..in)}. */
    public static void row(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        long n = in;
        switch (spec.name()) {
            case EncodingSpec.F32 -> {
                long base = 4 * n * o;
                for (int i = 0; i < in; i++) dst[i] = weights.get(F32, base + 4L * i);
            }
            case EncodingSpec.BF16 -> {
                long base = 2 * n * o;
                for (int i = 0; i < in; i++) dst[i] = Halfs.bf16ToFloat(weights.get(I16, base + 2L * i));
            }
            case EncodingSpec.INT8_ROWBLOCK, EncodingSpec.Q8 -> {
                int g = spec.groupSize(), groups = in / g;
                long base = n * o;
                for (int k = 0; k < groups; k++) {
                    float s = scale(spec, scales, (long) o * groups + k);
                    for (int j = 0; j < g; j++) {
                        int i = k * g + j;
                        dst[i] = weights.get(ValueLayout.JAVA_BYTE, base + i) * s;
                    }
                }
            }
            case EncodingSpec.Q4NL -> Q4Nl.dequantizeRow(spec, weights, scales, in, o, dst);
            case EncodingSpec.Q4, EncodingSpec.Q4_0 -> {
                int g = spec.groupSize(), half = g / 2, groups = spec.groupsPerRow(in);
                long base = (long) groups * half * o;
                for (int k = 0; k < groups; k++) {
                    float s = scale(spec, scales, (long) o * groups + k);
                    for (int j = 0; j < half; j++) {
                        int b = weights.get(ValueLayout.JAVA_BYTE, base + (long) k * half + j) & 0xff;
                        int lo = k * g + j, hi = lo + half;
                        if (lo < in) dst[lo] = ((b & 15) - 8) * s;
                        if (hi < in) dst[hi] = ((b >>> 4) - 8) * s;
                    }
                }
            }
            default -> throw new IllegalArgumentException("unknown encoding " + spec.name());
        }
    }

    /** Scale number {@code index} (row-major out × groups) of the scales region. */
    public static float scale(EncodingSpec spec, MemorySegment scales, long index) {
        return Halfs.fromScale(scales.get(I16, 2 * index), spec.scaleType());
    }

    /** Dequantizes a whole matrix into an out-major {@code float[out*in]} (tests; small matrices only). */
    public static float[] all(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        float[] all = new float[Math.multiplyExact(in, out)];
        float[] row = new float[in];
        for (int o = 0; o < out; o++) {
            row(spec, weights, scales, in, o, row);
            System.arraycopy(row, 0, all, o * in, in);
        }
        return all;
    }
}
