package grokkit.runtime;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits the way the reference runner ({@code runners.py},
 * {@code sample_token}) does: divide the logits by the temperature, drop every token outside the
 * top-p nucleus ({@link #nucleus}), then draw from the softmax of what is left.
 *
 * <ul>
 *   <li>Temperature 0 means greedy: the argmax (lowest id on ties). The reference would divide by
 *       zero; every runner treats 0 as greedy.</li>
 *   <li>The draw uses our own seeded {@link SplittableRandom}, so one seed gives one sequence on
 *       every machine; it does not reproduce JAX's PRNG (the reference draws with Gumbel-max
 *       over {@code jax.random}), so sampled tokens match the reference in distribution only.</li>
 * </ul>
 * Not thread-safe (it owns the random stream).
 */
public final class Sampler {
    private final float temperature;
    private final float topP;
    private final SplittableRandom random;

    /**
     * @param temperature ≥ 0; 0 = greedy
     * @param topP        in (0, 1]; 1 keeps every token
     * @param seed        seed of the random stream
     */
    public Sampler(float temperature, float topP, long seed) {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public int sample(float[] logits) {
        if (temperature == 0) {
            return argmax(logits);
        }
        int n = logits.length;
        float[] scaled = new float[n];
        for (int i = 0; i < n; i++) {
            scaled[i] = logits[i] / temperature;
        }
        boolean[] keep = topP < 1 ? nucleus(scaled, topP) : null;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (keep == null || keep[i]) {
                max = Math.max(max, scaled[i]);
            }
        }
        double[] weight = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (keep == null || keep[i]) {
                weight[i] = Math.exp(scaled[i] - max);
                total += weight[i];
            }
        }
        double u = random.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (weight[i] > 0) {
                last = i;
                u -= weight[i];
                if (u < 0) {
                    return i;
                }
            }
        }
        return last >= 0 ? last : argmax(logits); // rounding left u ≥ 0: the last candidate
    }

    /** Index of the largest logit; the lowest index on ties (like {@code argmax}). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * The reference's {@code top_p_filter}: sort the logits ascending, accumulate their softmax
     * from the least likely token up, find the first position where the sum reaches {@code 1 - p},
     * and keep every token whose logit is at least the logit there. The kept set is the smallest
     * set of most likely tokens whose probability mass is ≥ p (plus any ties at the threshold).
     */
    public static boolean[] nucleus(float[] logits, float p) {
        int n = logits.length;
        float[] sorted = logits.clone();
        Arrays.sort(sorted);
        double max = sorted[n - 1];
        double total = 0;
        for (float x : sorted) {
            total += Math.exp(x - max);
        }
        double target = (1.0 - p) * total;
        double cum = 0;
        float threshold = sorted[n - 1];
        for (int i = 0; i < n; i++) {
            cum += Math.exp(sorted[i] - max);
            if (cum >= target) {
                threshold = sorted[i];
                break;
            }
        }
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) {
            keep[i] = logits[i] >= threshold;
        }
        return keep;
    }
}
