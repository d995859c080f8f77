package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.util.Locale;

/** Builds the Vector API kernel for an encoding over its two byte regions. */
public final class Kernels {
    private Kernels() {}

    /**
     * A {@link WeightMatrix} reading {@code weights} and {@code scales} in place (no copy).
     * The segments may be memory-mapped, larger than 2 GiB, and need no particular alignment
     * (the format aligns to 64 bytes, which is fastest). They must stay alive (their arena
     * open) while the matrix is used.
     *
     * @param spec    the encoding, as in the manifest
     * @param weights the weights region, at least {@code spec.weightBytes(in, out)} bytes
     * @param scales  the scales region, at least {@code spec.scaleBytes(in, out)} bytes; empty
     *                (e.g. {@link MemorySegment#NULL}) for f32 and bf16
     * @throws IllegalArgumentException for a shape or scale type the encoding cannot hold
     *                                  ({@link EncodingSpec#checkShape}), or a region that is too small
     */
    public static WeightMatrix open(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        if (in <= 0 || out <= 0)
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: bad shape in=%d out=%d", spec.name(), in, out));
        spec.checkShape(in, out);
        long needW = spec.weightBytes(in, out);
        if (weights.byteSize() < needW)
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s [in=%d, out=%d]: weights region has %d bytes, needs %d", spec.name(), in, out, weights.byteSize(), needW));
        long needS = spec.scaleBytes(in, out);
        if (needS > 0 && (scales == null || scales.byteSize() < needS))
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s [in=%d, out=%d]: scales region has %d bytes, needs %d", spec.name(), in, out,
                    scales == null ? 0 : scales.byteSize(), needS));
        // One kernel class per byte layout; the switch is exhaustive over Encoding.
        return switch (spec.encoding()) {
            case F32 -> new F32Matrix(weights, in, out);
            case BF16 -> new Bf16Matrix(weights, in, out);
            case INT8_ROWBLOCK, Q8 -> new Int8GroupMatrix(spec, weights, scales, in, out);
            case Q4_0 -> in % spec.groupSize() == 0 ? new Q4Matrix(spec, weights, scales, in, out)
                    : new DequantizingMatrix(spec, weights, scales, in, out);
            case Q4 -> new Q4Matrix(spec, weights, scales, in, out);
            case Q4NL -> new Q4NlMatrix(spec, weights, scales, in, out);
        };
    }

    /** Float lanes per vector the kernels use on this machine (16 with AVX-512). */
    public static int floatLanes() {
        return SegmentMatrix.L;
    }
}
