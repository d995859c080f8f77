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
     * @throws IllegalArgumentException for an unknown encoding, a shape the encoding cannot
     *                                  hold, or a region that is too small
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
        return switch (spec.name()) {
            case EncodingSpec.F32 -> new F32Matrix(weights, in, out);
            case EncodingSpec.BF16 -> new Bf16Matrix(weights, in, out);
            case EncodingSpec.INT8_ROWBLOCK, EncodingSpec.Q8 -> new Int8GroupMatrix(checkScales(spec), weights, scales, in, out);
            case EncodingSpec.Q4_0 -> in % spec.groupSize() == 0 ? new Q4Matrix(checkScales(spec), weights, scales, in, out)
                    : new DequantizingMatrix(spec, weights, scales, in, out);
            case EncodingSpec.Q4 -> new Q4Matrix(checkScales(spec), weights, scales, in, out);
            case EncodingSpec.Q4NL -> new Q4NlMatrix(spec, weights, scales, in, out);
            default -> throw new IllegalArgumentException("unknown encoding " + spec.name());
        };
    }

    private static EncodingSpec checkScales(EncodingSpec spec) {
        if (spec.groupSize() <= 0)
            throw new IllegalArgumentException(spec.name() + ": group size must be positive, got " + spec.groupSize());
        if (!"bf16".equals(spec.scaleType()) && !"f16".equals(spec.scaleType()))
            throw new IllegalArgumentException(spec.name() + ": scale type must be bf16 or f16, got " + spec.scaleType());
        return spec;
    }

    /** Float lanes per vector the kernels use on this machine (16 with AVX-512). */
    public static int floatLanes() {
        return SegmentMatrix.L;
    }
}
