package grokkit.runtime;

/**
 * The element-wise and small reductions of the Grok-1 forward pass, in float32 as the
 * reference's float32 golden mode computes them ({@code model.py}: {@code RMSNorm},
 * {@code RotaryEmbedding}, {@code jax.nn.softmax}, {@code jax.nn.gelu}, {@code jax.lax.top_k}).
 *
 * <p>Reproducibility: sums run in a fixed sequential order, and the transcendental functions
 * are {@link StrictMath}'s (pure Java, the same bits in every JIT tier and on every machine),
 * not {@link Math}'s, which the JIT may replace by intrinsics.
 */
public final class Ops {
    private Ops() {}

    /**
     * {@code out = scale · x · rsqrt(mean(x²) + eps)}. The mean is accumulated in double (the
     * reference reduces float32 pairwise; double keeps us within an ulp of it for any width).
     * {@code out} may be {@code x}.
     */
    public static void rmsNorm(float[] x, float[] scale, float eps, float[] out) {
        int n = x.length;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double) x[i] * x[i];
        float meanSquare = (float) (sum / n);
        float r = (float) (1.0 / Math.sqrt(meanSquare + eps));
        for (int i = 0; i < n; i++) out[i] = scale[i] * (x[i] * r);
    }

    /**
     * RoPE inverse frequencies {@code 1 / base^(2j/dim)} for {@code j < dim/2}, rounded to float32
     * like the reference's float32 {@code inv_freq}.
     */
    public static float[] ropeInverseFrequencies(int dim, double base) {
        float[] inv = new float[dim / 2];
        for (int j = 0; j < dim / 2; j++) {
            float exponent = (float) (2 * j) / dim;
            inv[j] = (float) (1.0 / (float) StrictMath.pow(base, exponent));
        }
        return inv;
    }

    /**
     * cos and sin of the phases {@code position · inv_freq[j]} (float32 product, as the reference),
     * for one position: {@code cos[j], sin[j]}, {@code j < dim/2}.
     */
    public static void ropePhases(int position, float[] invFreq, float[] cos, float[] sin) {
        for (int j = 0; j < invFreq.length; j++) {
            float phase = (float) position * invFreq[j];
            cos[j] = (float) StrictMath.cos(phase);
            sin[j] = (float) StrictMath.sin(phase);
        }
    }

    /**
     * Rotary embedding in the rotate-half form, in place on the head vector
     * {@code v[off, off+dim)}: with halves x1, x2, {@code out = x·cos + concat(-x2, x1)·sin}
     * (the phase table is the half-table tiled twice, so both halves use {@code cos[j], sin[j]}).
     */
    public static void rope(float[] v, int off, int dim, float[] cos, float[] sin) {
        int half = dim / 2;
        for (int j = 0; j < half; j++) {
            float x1 = v[off + j], x2 = v[off + half + j];
            v[off + j] = x1 * cos[j] - x2 * sin[j];
            v[off + half + j] = x2 * cos[j] + x1 * sin[j];
        }
    }

    /** Numerically stable softmax of {@code x[0, n)} in place. */
    public static void softmax(float[] x, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[i]);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) StrictMath.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) x[i] *= inv;
    }

    /** {@code jax.nn.gelu} with its default tanh approximation. */
    public static float geluTanh(float x) {
        final double sqrt2OverPi = 0.7978845608028654; // sqrt(2/pi)
        double inner = sqrt2OverPi * (x + 0.044715 * x * x * x);
        // tanh(y) = 1 - 2/(e^(2y)+1): exp is several times faster than tanh,
        // and this runs ffn_size times per selected expert per token. Exact to double rounding
        // in absolute terms, which is all 0.5·x·(1+tanh) needs; saturates correctly at ±inf.
        double tanh = 1.0 - 2.0 / (StrictMath.exp(2.0 * inner) + 1.0);
        return (float) (0.5 * x * (1.0 + tanh));
    }

    /** The attention logit soft cap {@code cap · tanh(x / cap)}. */
    public static float softCap(float x, float cap) {
        return cap * (float) StrictMath.tanh(x / cap);
    }

    /**
     * Indices of the {@code k} largest values, largest first; equal values keep the lower index
     * first ({@code jax.lax.top_k} is stable). Writes indices to {@code idx[0, k)}.
     */
    public static void topK(float[] values, int k, int[] idx) {
        int n = values.length;
        long taken = 0; // bitmask is enough: experts <= 64; fall back below otherwise
        boolean[] takenArr = n > 64 ? new boolean[n] : null;
        for (int s = 0; s < k; s++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                boolean used = takenArr != null ? takenArr[i] : ((taken >>> i) & 1L) != 0;
                if (used) continue;
                // strict '>' keeps the lowest index among equals; NaN never wins over a number
                if (best < 0 || values[i] > values[best] || (Float.isNaN(values[best]) && !Float.isNaN(values[i]))) best = i;
            }
            idx[s] = best;
            if (takenArr != null) takenArr[best] = true;
            else taken |= 1L << best;
        }
    }
}
