package grokkit.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The scalar reference dequantization of every {@link Encoding}: reads one
 * out-major row (the {@code in} weights feeding output {@code o}) from the weights and scales
 * regions. Slow and obviously correct; tests and {@link ScalarMatrices} use it, the Vector API
 * kernels must agree with it.
 */
public final class Dequantizer {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequantizer() {}

    /** Row {@code o} (column o of W) into {@code dst[0..in)}: {@link Encoding}'s scalar decoder. */
    public static void row(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        spec.encoding().dequantizeRow(spec, weights, scales, in, o, dst);
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
