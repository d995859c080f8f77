package grokkit.quant.kernels;

import grokkit.quant.WeightMatrix;

/**
 * The fixed accumulation order of every kernel (docs/KERNELS.md, "Fixed order"), spelled out
 * in plain scalar Java: eight float partial sums updated with {@link Math#fma} feature by
 * feature, group scales folded at group ends, the fixed lane tree, then the encoding's scalar
 * {@code finish}. It shares with the kernels only the encoding's description of its features;
 * tests hold the Vector API products (decode and prefill, any split of rows and tokens) to it bit
 * for bit. Slow, for tests.
 */
public final class FixedOrder {
    private FixedOrder() {}

    /** Whether {@code w} is one of the kernels that follow the fixed order (all of {@link Kernels#open}'s). */
    public static boolean covers(WeightMatrix w) {
        return w instanceof SegmentMatrix || w instanceof DequantizingMatrix;
    }

    /** {@code y[o]} for o in [from, to), in the fixed order. */
    public static void matvec(WeightMatrix w, float[] x, float[] y, int from, int to) {
        if (w instanceof DequantizingMatrix d) {
            float[] row = new float[w.inDim()];
            for (int o = from; o < to; o++) {
                d.dequantizeColumn(o, row);
                y[o] = dot(x, row, w.inDim());
            }
            return;
        }
        SegmentMatrix m = (SegmentMatrix) w;
        int nf = m.vectorFeatures(), gf = m.featureGroup(), lanes = SegmentMatrix.L;
        float[] xf = m.allInputFeatures(x);
        float[] prepared = m.prepare(x);
        float[] wf = new float[nf];
        float[] sc = new float[gf == 0 ? 0 : nf / gf];
        for (int o = from; o < to; o++) {
            if (nf > 0) m.featureWeights(o, 0, nf, wf, 0);
            if (gf > 0 && nf > 0) m.groupScales(o, 0, nf / gf, sc, 0);
            float[] s = new float[lanes], a = new float[lanes];
            for (int f = 0; f < nf; f++) {
                s[f % lanes] = Math.fma(wf[f], xf[f], s[f % lanes]);
                if (gf > 0 && (f + 1) % gf == 0) {
                    float k = sc[f / gf];
                    for (int l = 0; l < lanes; l++) {
                        a[l] = Math.fma(s[l], k, a[l]);
                        s[l] = 0f;
                    }
                }
            }
            y[o] = m.finish(o, SegmentMatrix.tree(gf > 0 ? a : s, 0), x, prepared);
        }
    }

    /** {@code SegmentMatrix.dot}'s order: lanes, tree, then the tail one by one. */
    private static float dot(float[] x, float[] w, int n) {
        int lanes = SegmentMatrix.L, vec = n / lanes * lanes;
        float[] s = new float[lanes];
        for (int i = 0; i < vec; i++) s[i % lanes] = Math.fma(w[i], x[i], s[i % lanes]);
        float sum = SegmentMatrix.tree(s, 0);
        for (int i = vec; i < n; i++) sum += x[i] * w[i];
        return sum;
    }
}
