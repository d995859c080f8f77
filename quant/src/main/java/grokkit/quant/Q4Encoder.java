package grokkit.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Symmetric 4-bit group quantization ({@code q4}): per group of G inputs one scale s (f16 or
 * bf16) and {@code q ∈ [-8, 7]} with {@code w = q·s}.
 *
 * <p>The scale is signed: the group's largest-magnitude value {@code m} maps to level
 * {@code -L} ({@code s = m / -L}), so both signs use all 16 levels. With
 * {@link ScaleChoice#SEARCH} the encoder tries the levels {@link #LEVELS} (absmax/7 …
 * absmax/9, clipping allowed beyond 8); for each it rounds the group, and takes the least-squares
 * scale for those levels, {@code s* = Σxq / Σq²}, whose squared error is exactly
 * {@code Σx² − (Σxq)² / Σq²}. The candidate with the least error wins; its s* is rounded to the
 * stored 16-bit type and the group re-rounded with it. One pass per candidate (its cost and SQNR
 * gain against plain absmax: docs/FORMAT.md, docs/benchmarks/encoders.md). Since absmax/7's levels are a candidate and s* is optimal for them, the
 * result is never worse than absmax/7 except for the (tiny) rounding of s* to 16 bits.
 *
 * <p>Determinism: the arithmetic uses a fixed 8-lane species and reduces lanes by a fixed
 * sequence of vector operations, so the bytes do not depend on the machine's vector width,
 * on whether code runs interpreted or compiled, or on thread timing.
 */
public final class Q4Encoder extends RowEncoder {
    /** How the per-group scale is chosen. */
    public enum ScaleChoice {
        /** {@code s = absmax / 7}: the plain rule (the baseline for accuracy and speed). */
        ABSMAX,
        /** Least squared error over {@link #LEVELS}, then one least-squares refinement. */
        SEARCH
    }

    /** Levels L tried for the largest-magnitude value (s = m / -L); 7 is plain absmax, 8 Q4_0's. */
    static final float[] LEVELS = {7.0f, 7.5f, 8.0f, 8.5f, 9.0f};

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int LANES = S.length();
    /**
     * The group-per-lane search's species. Each lane works on its own group with the same
     * sequence of IEEE operations, so the width changes speed, never results; 256 bits is the
     * faster width (docs/benchmarks/encoders.md).
     */
    private static final VectorSpecies<Float> W = FloatVector.SPECIES_256;
    static final int LANES_WIDE = W.length();
    /** 1.5·2^23: adding and subtracting it rounds a float in [-2^22, 2^22] to an integer, ties to even. */
    private static final float ROUND = 12582912f;

    private final ScaleChoice choice;

    Q4Encoder(EncodingSpec spec, ScaleChoice choice) {
        super(spec);
        if (spec.groupSize() % 2 != 0) throw new IllegalArgumentException("q4 group size must be even");
        this.choice = choice;
    }

    @Override
    public void decodeRow(byte[] w, int wOff, byte[] s, int sOff, int in, float[] dst) {
        decodeNibbleRow(spec, w, wOff, s, sOff, in, dst);
    }

    @Override
    public void encodeRow(float[] src, int srcOff, int in, byte[] w, int wOff, byte[] s, int sOff) {
        int g = spec.groupSize(), groups = in / g;
        String st = spec.scaleType();
        float[] scales = new float[groups];
        if (choice == ScaleChoice.SEARCH) {
            int k = 0;
            float[] tmp = new float[LANES_WIDE * g];
            for (; k + LANES_WIDE <= groups; k += LANES_WIDE) searchLanes(src, srcOff + k * g, g, st, tmp, scales, k);
            for (; k < groups; k++) scales[k] = searchScale(src, srcOff + k * g, g, st);
        } else {
            for (int k = 0; k < groups; k++) scales[k] = absmaxScale(src, srcOff + k * g, g, st);
        }
        for (int k = 0; k < groups; k++) {
            LittleEndian.putShort(s, sOff + 2 * k, Halfs.toScale(scales[k], st));
            pack(src, srcOff + k * g, g, scales[k], w, wOff + k * (g / 2));
        }
    }

    /** Writes the nibbles of one group quantized with {@code scale} (byte j: input j low, j+G/2 high). */
    static void pack(float[] x, int base, int g, float scale, byte[] w, int wOff) {
        int half = g / 2;
        float inv = scale == 0 ? 0 : 1f / scale;
        if (half % LANES == 0) {
            for (int j = 0; j < half; j += LANES) {
                FloatVector lo = FloatVector.fromArray(S, x, base + j).mul(inv).max(-8f).min(7f).add(ROUND).sub(ROUND).add(8f);
                FloatVector hi = FloatVector.fromArray(S, x, base + half + j).mul(inv).max(-8f).min(7f).add(ROUND).sub(ROUND).add(8f);
                // lo + 16·hi is an exact integer in [0, 255]; the cast keeps its low 8 bits.
                ((ByteVector) hi.mul(16f).add(lo).convertShape(VectorOperators.F2I, IntVector.SPECIES_256, 0)
                        .convertShape(VectorOperators.I2B, ByteVector.SPECIES_64, 0)).intoArray(w, wOff + j);
            }
            return;
        }
        for (int j = 0; j < half; j++) {
            int lo = level(x[base + j], inv) + 8;
            int hi = level(x[base + half + j], inv) + 8;
            w[wOff + j] = (byte) (lo | (hi << 4));
        }
    }

    /** round(clamp(x·inv, -8, 7)), ties to even, exactly as the vector path computes it. */
    static int level(float x, float inv) {
        float c = Math.min(7f, Math.max(-8f, x * inv));
        return (int) ((c + ROUND) - ROUND);
    }

    static float absmaxScale(float[] x, int base, int g, String st) {
        float amax = absMax(x, base, g);
        return finiteScale(Halfs.roundToScale(amax / 7f, st), st, 1);
    }

    private static float finiteScale(float s, String st, float sign) {
        return Float.isFinite(s) ? s : Math.copySign(Halfs.maxFinite(st), sign);
    }

    /** The largest |x| of the group (max is exact, so any evaluation order gives the same value). */
    static float absMax(float[] x, int base, int g) {
        if (g % LANES != 0) {
            float amax = 0;
            for (int j = 0; j < g; j++) amax = Math.max(amax, Math.abs(x[base + j]));
            return amax;
        }
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < g; j += LANES) acc = acc.max(FloatVector.fromArray(S, x, base + j).abs());
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /**
     * The searched scale of one group (the reference definition; {@link #searchLanes} computes
     * exactly the same, eight groups at a time). For each level L: {@code s = m / -L},
     * {@code q_j = round(clamp(x_j / s, -8, 7))}, {@code Σxq} and {@code Σq²} accumulated in order
     * with fused multiply-adds; the candidate maximising {@code (Σxq)²/Σq²} (first on ties) gives
     * {@code s* = Σxq / Σq²}, rounded to the scale type.
     */
    static float searchScale(float[] x, int base, int g, String st) {
        float amax = 0, m = 0;
        for (int j = 0; j < g; j++) {
            float a = Math.abs(x[base + j]);
            if (a > amax) {
                amax = a;
                m = x[base + j];
            }
        }
        if (amax == 0) return 0;
        float best = Float.NEGATIVE_INFINITY, bestScale = 0;
        for (float level : LEVELS) {
            float inv = 1f / (m / -level);
            float xq = 0, qq = 0;
            for (int j = 0; j < g; j++) {
                float q = level(x[base + j], inv);
                xq = Math.fma(x[base + j], q, xq);
                qq = Math.fma(q, q, qq);
            }
            float e = xq * xq / qq;
            if (e > best) {
                best = e;
                bestScale = xq / qq;
            }
        }
        return finalScale(bestScale, m, st);
    }

    private static float finalScale(float bestScale, float m, String st) {
        float sc = "f16".equals(st) ? Float.float16ToFloat(Float.floatToFloat16(bestScale)) : Halfs.roundToScale(bestScale, st);
        if (sc == 0 || !Float.isFinite(sc)) sc = finiteScale(Halfs.roundToScale(m / -8f, st), st, -m);
        return sc;
    }

    /**
     * {@link #searchScale} for the 8 consecutive groups at {@code x[base..]}, one group per
     * vector lane (the groups are first transposed into {@code tmp[j·8 + lane]}), so the search
     * needs no horizontal sums. Lane arithmetic is IEEE-exact, hence identical to the scalar path.
     */
    static void searchLanes(float[] x, int base, int g, String st, float[] tmp, float[] scales, int k0) {
        for (int lane = 0; lane < LANES_WIDE; lane++) {
            int from = base + lane * g;
            for (int j = 0; j < g; j++) tmp[j * LANES_WIDE + lane] = x[from + j];
        }
        FloatVector amax = FloatVector.zero(W), m = FloatVector.zero(W);
        for (int j = 0; j < g; j++) {
            FloatVector v = FloatVector.fromArray(W, tmp, j * LANES_WIDE);
            FloatVector a = v.abs();
            m = m.blend(v, a.compare(VectorOperators.GT, amax));
            amax = amax.max(a);
        }
        FloatVector best = FloatVector.broadcast(W, Float.NEGATIVE_INFINITY), bestScale = FloatVector.zero(W);
        FloatVector one = FloatVector.broadcast(W, 1f);
        for (float level : LEVELS) {
            FloatVector inv = one.div(m.div(-level));
            FloatVector xq = FloatVector.zero(W), qq = xq;
            for (int j = 0; j < g; j++) {
                FloatVector v = FloatVector.fromArray(W, tmp, j * LANES_WIDE);
                FloatVector q = v.mul(inv).max(-8f).min(7f).add(ROUND).sub(ROUND);
                xq = v.fma(q, xq);
                qq = q.fma(q, qq);
            }
            FloatVector e = xq.mul(xq).div(qq);
            VectorMask<Float> better = e.compare(VectorOperators.GT, best);
            best = best.blend(e, better);
            bestScale = bestScale.blend(xq.div(qq), better);
        }
        float[] a = new float[LANES_WIDE], sc = new float[LANES_WIDE], mm = new float[LANES_WIDE];
        amax.intoArray(a, 0);
        bestScale.intoArray(sc, 0);
        m.intoArray(mm, 0);
        for (int lane = 0; lane < LANES_WIDE; lane++) scales[k0 + lane] = a[lane] == 0 ? 0 : finalScale(sc[lane], mm[lane], st);
    }

}
