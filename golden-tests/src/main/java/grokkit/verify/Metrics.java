package grokkit.verify;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Accuracy metrics between golden logits and ours, computed in float64 so that the metric itself
 * adds no error comparable to the float32 differences it measures.
 *
 * <p>Definitions follow llama.cpp's {@code llama-perplexity --kl-divergence} (so users can put our
 * numbers next to theirs), with "base" = golden and "Q" = ours:
 * <ul>
 *   <li>KL divergence per position: {@code KL(golden || ours) = Σ_i p_g(i) · (log p_g(i) − log p_o(i))}
 *       with log-probabilities from a max-shifted log-softmax.</li>
 *   <li>Percentiles: linear interpolation at {@code fraction · (n − 1)} of the sorted values (the
 *       median of an even count is the mean of the two middle values), as llama.cpp does.</li>
 *   <li>Same top p: fraction of positions whose argmax agrees.</li>
 *   <li>Δp: {@code p_ours(g) − p_golden(g)}. Difference from llama.cpp: there {@code g} is the
 *       text's next token; here it is the golden top-1 token, which exists at every position
 *       (including the last) and is the token a greedy decoder would emit.</li>
 *   <li>PPL ratio: {@code PPL(ours)/PPL(golden) = exp(mean NLL_ours − mean NLL_golden)} over the
 *       positions that have a next token ({@code tokens[t+1]} is the target of row {@code t}).</li>
 * </ul>
 */
public final class Metrics {
    /** Number of top tokens compared for the top-k overlap. */
    public static final int TOP_K = 5;

    private Metrics() {}

    /**
     * The comparison of one position (one logit row).
     *
     * @param kl          KL(golden || ours) in nats
     * @param maxAbsDiff  max over the vocabulary of |ours − golden|
     * @param sumSqDiff   Σ (ours − golden)², for pooled RMS
     * @param cosine      cosine similarity of the two logit vectors
     * @param goldenTop1  argmax of the golden row
     * @param oursTop1    argmax of our row
     * @param top5Overlap |top-5(golden) ∩ top-5(ours)|, 0..5
     * @param deltaPTop   p_ours(goldenTop1) − p_golden(goldenTop1)
     * @param nllGolden   −log p_golden(next token), NaN at the last position
     * @param nllOurs     −log p_ours(next token), NaN at the last position
     * @param nonFinite   number of NaN/±Inf values in our row
     */
    public record Position(double kl, double maxAbsDiff, double sumSqDiff, double cosine, int goldenTop1,
                           int oursTop1, int top5Overlap, double deltaPTop, double nllGolden, double nllOurs,
                           int nonFinite) {
        public boolean sameTop1() {
            return goldenTop1 == oursTop1;
        }

        public boolean hasTarget() {
            return !Double.isNaN(nllGolden);
        }
    }

    /**
     * Statistics over a set of positions (one prompt, or all prompts pooled). Fields that are
     * undefined (e.g. the PPL ratio of a one-token prompt, which has no next token) are NaN.
     */
    public record Summary(int positions, int vocab, int nonFinite,
                          double maxAbsDiff, double rmsAbsDiff, double cosineMin, double cosineMean,
                          double klMean, double klMedian, double klP90, double klP99, double klMax,
                          double sameTop1Rate, double top5Overlap,
                          // named here: the snake_case strategy would run "deltaPMean" together as delta_pmean
                          @JsonProperty("delta_p_mean") double deltaPMean, @JsonProperty("delta_p_rms") double deltaPRms,
                          @JsonProperty("delta_p_min") double deltaPMin, @JsonProperty("delta_p_p1") double deltaPP1,
                          @JsonProperty("delta_p_median") double deltaPMedian, @JsonProperty("delta_p_p99") double deltaPP99,
                          @JsonProperty("delta_p_max") double deltaPMax,
                          int pplTargets, double pplGolden, double pplOurs, double pplRatio) {}

    /** Compares every row of a prompt; row t's target for the perplexity is {@code tokens[t+1]}. */
    public static List<Position> comparePrompt(float[][] golden, float[][] ours, int[] tokens) {
        if (golden.length != ours.length) {
            throw new IllegalArgumentException("golden has " + golden.length + " rows, ours " + ours.length);
        }
        List<Position> out = new ArrayList<>(golden.length);
        for (int t = 0; t < golden.length; t++) {
            int next = t + 1 < tokens.length ? tokens[t + 1] : -1;
            out.add(comparePosition(golden[t], ours[t], next));
        }
        return out;
    }

    /** Compares one logit row; {@code nextToken < 0} means no perplexity target at this position. */
    public static Position comparePosition(float[] golden, float[] ours, int nextToken) {
        int v = golden.length;
        if (ours.length != v) throw new IllegalArgumentException("golden row has " + v + " logits, ours " + ours.length);
        int nonFinite = 0;
        double maxAbs = 0, sumSq = 0, dot = 0, nG = 0, nO = 0;
        for (int i = 0; i < v; i++) {
            double g = golden[i], o = ours[i];
            if (!Double.isFinite(o)) nonFinite++;
            double d = Math.abs(o - g);
            if (d > maxAbs) maxAbs = d; // a NaN row is reported through nonFinite below
            sumSq += d * d;
            dot += g * o;
            nG += g * g;
            nO += o * o;
        }
        double cosine = (nG == 0 || nO == 0) ? (nG == nO ? 1 : 0) : dot / Math.sqrt(nG * nO);
        double[] lpG = logSoftmax(golden);
        double[] lpO = logSoftmax(ours);
        double kl = klDivergence(lpG, lpO);
        int gTop = argmax(golden);
        int oTop = argmax(ours);
        int overlap = topKOverlap(golden, ours, Math.min(TOP_K, v));
        double deltaP = Math.exp(lpO[gTop]) - Math.exp(lpG[gTop]);
        double nllG = Double.NaN, nllO = Double.NaN;
        if (nextToken >= 0) {
            nllG = -lpG[nextToken];
            nllO = -lpO[nextToken];
        }
        if (nonFinite > 0) {
            maxAbs = Double.NaN;
            kl = Double.NaN;
            cosine = Double.NaN;
        }
        return new Position(kl, maxAbs, sumSq, cosine, gTop, oTop, overlap, deltaP, nllG, nllO, nonFinite);
    }

    /** {@code log softmax(x)} in float64: {@code x_i − max − log Σ exp(x_j − max)}. */
    public static double[] logSoftmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float f : x) if (f > max) max = f;
        double sum = 0;
        for (float f : x) sum += Math.exp(f - max);
        double lse = max + Math.log(sum);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] - lse;
        return out;
    }

    /** KL(p || q) in nats from log-probabilities; terms with p = 0 contribute 0. */
    public static double klDivergence(double[] logP, double[] logQ) {
        double kl = 0;
        for (int i = 0; i < logP.length; i++) {
            double p = Math.exp(logP[i]);
            if (p > 0) kl += p * (logP[i] - logQ[i]);
        }
        return kl;
    }

    /** Index of the largest value; the lowest index wins ties (as numpy's argmax). */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** Indices of the k largest values, largest first; ties broken by the lower index. */
    public static int[] topK(float[] x, int k) {
        int[] idx = new int[k];
        float[] val = new float[k];
        int n = 0;
        for (int i = 0; i < x.length; i++) {
            float f = x[i];
            if (n == k && !(f > val[k - 1])) continue;
            int pos = n < k ? n++ : k - 1;
            // insertion into the sorted prefix; strict '>' keeps earlier indices ahead on ties
            while (pos > 0 && f > val[pos - 1]) {
                val[pos] = val[pos - 1];
                idx[pos] = idx[pos - 1];
                pos--;
            }
            val[pos] = f;
            idx[pos] = i;
        }
        return n == k ? idx : Arrays.copyOf(idx, n);
    }

    /** Number of indices the two top-k sets share. */
    public static int topKOverlap(float[] a, float[] b, int k) {
        int[] ta = topK(a, k), tb = topK(b, k);
        int shared = 0;
        for (int i : ta) for (int j : tb) if (i == j) shared++;
        return shared;
    }

    /**
     * Percentile of sorted values with llama.cpp's linear interpolation: position
     * {@code fraction · (n − 1)}. NaN for an empty array.
     */
    public static double percentile(double[] sorted, double fraction) {
        if (sorted.length == 0) return Double.NaN;
        if (fraction <= 0) return sorted[0];
        if (fraction >= 1) return sorted[sorted.length - 1];
        double p = fraction * (sorted.length - 1);
        int i = (int) p;
        double w = p - i;
        return (1 - w) * sorted[i] + w * sorted[Math.min(i + 1, sorted.length - 1)];
    }

    /** Pools positions (of one prompt or of all prompts) into one summary. */
    public static Summary summarize(List<Position> ps, int vocab) {
        int n = ps.size();
        double[] kl = new double[n], dp = new double[n];
        double maxAbs = 0, sumSq = 0, cosMin = Double.POSITIVE_INFINITY, cosSum = 0, klSum = 0;
        double dpSum = 0, dpSq = 0, nllG = 0, nllO = 0;
        int same = 0, overlap = 0, targets = 0, nonFinite = 0;
        for (int t = 0; t < n; t++) {
            Position p = ps.get(t);
            kl[t] = p.kl();
            dp[t] = p.deltaPTop();
            maxAbs = nanMax(maxAbs, p.maxAbsDiff());
            sumSq += p.sumSqDiff();
            cosMin = Double.isNaN(p.cosine()) ? Double.NaN : Math.min(cosMin, p.cosine());
            cosSum += p.cosine();
            klSum += p.kl();
            dpSum += p.deltaPTop();
            dpSq += p.deltaPTop() * p.deltaPTop();
            if (p.sameTop1()) same++;
            overlap += p.top5Overlap();
            nonFinite += p.nonFinite();
            if (p.hasTarget()) {
                targets++;
                nllG += p.nllGolden();
                nllO += p.nllOurs();
            }
        }
        Arrays.sort(kl);
        Arrays.sort(dp);
        int k = Math.min(TOP_K, vocab);
        double pplG = targets == 0 ? Double.NaN : Math.exp(nllG / targets);
        double pplO = targets == 0 ? Double.NaN : Math.exp(nllO / targets);
        double ratio = targets == 0 ? Double.NaN : Math.exp((nllO - nllG) / targets);
        return new Summary(n, vocab, nonFinite,
                n == 0 ? Double.NaN : maxAbs,
                n == 0 ? Double.NaN : Math.sqrt(sumSq / ((double) n * vocab)),
                n == 0 ? Double.NaN : cosMin, cosSum / n,
                klSum / n, percentile(kl, 0.5), percentile(kl, 0.90), percentile(kl, 0.99),
                n == 0 ? Double.NaN : kl[n - 1],
                (double) same / n, (double) overlap / ((double) n * k),
                dpSum / n, Math.sqrt(dpSq / n), percentile(dp, 0), percentile(dp, 0.01),
                percentile(dp, 0.5), percentile(dp, 0.99), percentile(dp, 1),
                targets, pplG, pplO, ratio);
    }

    private static double nanMax(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b);
    }
}
