package grokkit.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Symmetric 4-bit group quantization ({@code q4}): per group of G inputs one scale s (f16 or
 * bf16) and {@code q ∈ [-8, 7]} with {@code w = q·s}.
 *
 * <p>The scale is signed: the group's largest-magnitude value {@code m} maps to level
 * {@code -L} ({@code s = m / -L}), so both signs use the full 16 levels. With
 * {@link ScaleChoice#SEARCH} the encoder tries the levels {@link #LEVELS} (absmax/6.5 …
 * absmax/8.5, clipping allowed above 8), each with its scale already rounded to the stored
 * 16-bit type, keeps the one with the least squared error, then refines it once by least
 * squares ({@code s = Σxq / Σq²} for that assignment, rounded again) if that is better.
 * Every candidate is evaluated exactly, so the result is never worse than plain absmax/7 or
 * Q4_0's m/-8 (both are candidates).
 *
 * <p>Determinism: the arithmetic uses a fixed 8-lane species and sums the lanes in a fixed
 * order, so the bytes do not depend on the machine's vector width, the JIT or thread timing.
 */
public final class Q4Encoder extends RowEncoder {
    /** How the per-group scale is chosen. */
    public enum ScaleChoice {
        /** {@code s = absmax / 7}: the plain rule (the baseline for accuracy and speed). */
        ABSMAX,
        /** Least squared error over {@link #LEVELS}, then one least-squares refinement. */
        SEARCH
    }

    /** Levels L tried for the largest-magnitude value (s = m / -L); 8 is Q4_0's, 7 plain absmax. */
    static final float[] LEVELS = {7.0f, 8.0f, 7.5f, 6.5f, 6.75f, 7.25f, 7.75f, 8.25f, 8.5f};

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int LANES = S.length();
    /** 1.5·2^23: adding and subtracting it rounds a float in [-2^22, 2^22] to an integer, ties to even. */
    private static final float ROUND = 12582912f;

    private final ScaleChoice choice;

    Q4Encoder(EncodingSpec spec, ScaleChoice choice) {
        super(spec);
        if (spec.groupSize() % 2 != 0) throw new IllegalArgumentException("q4 group size must be even");
        this.choice = choice;
    }

    @Override
    public void encodeRow(float[] src, int srcOff, int in, byte[] w, int wOff, byte[] s, int sOff) {
        int g = spec.groupSize();
        String st = spec.scaleType();
        for (int k = 0; k < in / g; k++) {
            int base = srcOff + k * g;
            float scale = choice == ScaleChoice.SEARCH ? searchScale(src, base, g, st) : absmaxScale(src, base, g, st);
            LittleEndian.putShort(s, sOff + 2 * k, Halfs.toScale(scale, st));
            pack(src, base, g, scale, w, wOff + k * (g / 2));
        }
    }

    /** Writes the nibbles of one group quantized with {@code scale} (byte j: input j low, j+G/2 high). */
    static void pack(float[] x, int base, int g, float scale, byte[] w, int wOff) {
        int half = g / 2;
        float inv = scale == 0 ? 0 : 1f / scale;
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
        float amax = 0;
        for (int j = 0; j < g; j++) amax = Math.max(amax, Math.abs(x[base + j]));
        return finiteScale(Halfs.roundToScale(amax / 7f, st), st, 1);
    }

    private static float finiteScale(float s, String st, float sign) {
        return Float.isFinite(s) ? s : Math.copySign(Halfs.maxFinite(st), sign);
    }

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
        boolean vector = g % LANES == 0;
        float best = Float.POSITIVE_INFINITY, bestScale = 0;
        for (float level : LEVELS) {
            float sc = Halfs.roundToScale(m / -level, st);
            if (sc == 0 || !Float.isFinite(sc)) continue;
            float e = vector ? errorVector(x, base, g, sc) : errorScalar(x, base, g, sc);
            if (e < best) {
                best = e;
                bestScale = sc;
            }
        }
        if (bestScale == 0) {
            // Every candidate under- or overflowed the 16-bit scale type.
            float sc = finiteScale(Halfs.roundToScale(m / -8f, st), st, -m);
            return sc;
        }
        // One least-squares step: the best scale for the levels the winner chose.
        float[] sums = vector ? dotsVector(x, base, g, bestScale) : dotsScalar(x, base, g, bestScale);
        if (sums[1] > 0) {
            float refined = Halfs.roundToScale(sums[0] / sums[1], st);
            if (refined != 0 && Float.isFinite(refined) && refined != bestScale) {
                float e = vector ? errorVector(x, base, g, refined) : errorScalar(x, base, g, refined);
                if (e < best) bestScale = refined;
            }
        }
        return bestScale;
    }

    /** Σ (x - s·q(x))² over the group, in a fixed order. */
    static float errorVector(float[] x, int base, int g, float sc) {
        float inv = 1f / sc;
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < g; j += LANES) {
            FloatVector v = FloatVector.fromArray(S, x, base + j);
            FloatVector q = v.mul(inv).max(-8f).min(7f).add(ROUND).sub(ROUND);
            FloatVector d = q.mul(sc).sub(v);
            acc = d.fma(d, acc);
        }
        return sumLanes(acc);
    }

    /** {Σ x·q, Σ q²} for the levels chosen with scale {@code sc}. */
    static float[] dotsVector(float[] x, int base, int g, float sc) {
        float inv = 1f / sc;
        FloatVector xq = FloatVector.zero(S), qq = FloatVector.zero(S);
        for (int j = 0; j < g; j += LANES) {
            FloatVector v = FloatVector.fromArray(S, x, base + j);
            FloatVector q = v.mul(inv).max(-8f).min(7f).add(ROUND).sub(ROUND);
            xq = v.fma(q, xq);
            qq = q.fma(q, qq);
        }
        return new float[] {sumLanes(xq), sumLanes(qq)};
    }

    private static float sumLanes(FloatVector v) {
        float s = 0;
        for (int i = 0; i < LANES; i++) s += v.lane(i);
        return s;
    }

    static float errorScalar(float[] x, int base, int g, float sc) {
        float inv = 1f / sc, e = 0;
        for (int j = 0; j < g; j++) {
            float d = level(x[base + j], inv) * sc - x[base + j];
            e = Math.fma(d, d, e);
        }
        return e;
    }

    static float[] dotsScalar(float[] x, int base, int g, float sc) {
        float inv = 1f / sc, xq = 0, qq = 0;
        for (int j = 0; j < g; j++) {
            float q = level(x[base + j], inv);
            xq = Math.fma(x[base + j], q, xq);
            qq = Math.fma(q, q, qq);
        }
        return new float[] {xq, qq};
    }

}
