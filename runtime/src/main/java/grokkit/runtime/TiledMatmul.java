package grokkit.runtime;

import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.Q4NlMatrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A tiled matrix-matrix product (prefill) for kernels that have none of their own, built on
 * {@link WeightMatrix#dequantizeColumn}: four output rows are dequantized once into a scratch
 * tile, and every 1024-input slice of the tile (16 KB, in L1) is multiplied with the tokens in
 * 4 × 4 register blocks (8 loads per 16 FMAs). A per-row product that re-reads the tile for
 * each token does 2 loads per FMA and runs 2-3× slower on the small Grok shape's prefill.
 *
 * <p>Used for {@code q4nl} (the default int4), whose kernel {@link Q4NlMatrix#matmul} is
 * row-at-a-time; when that kernel gets a tiled path of its own, {@link #wanted} should say no.
 */
final class TiledMatmul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Inputs per slice of the tile: 4 rows × 1024 floats = 16 KB. */
    private static final int SLICE = 1024;

    private TiledMatmul() {}

    /** True for matrices whose own {@code matmul} is not tiled. */
    static boolean wanted(WeightMatrix w) {
        return w instanceof Q4NlMatrix;
    }

    /** {@code y[t][o] = Σ_k x[t][k]·W[k,o]} for {@code o} in {@code [from, to)} and every t. */
    static void matmul(WeightMatrix w, float[][] x, float[][] y, int from, int to) {
        int in = w.inDim(), tokens = x.length;
        float[][] rows = new float[4][in];
        for (int o = from; o < to; o += 4) {
            int n = Math.min(4, to - o);
            for (int r = 0; r < n; r++) w.dequantizeColumn(o + r, rows[r]);
            for (int k0 = 0; k0 < in; k0 += SLICE) {
                int k1 = Math.min(in, k0 + SLICE);
                boolean first = k0 == 0;
                int t = 0;
                if (n == 4) {
                    for (; t + 4 <= tokens; t += 4) block4x4(x, y, t, rows, o, k0, k1, first);
                }
                for (; t < tokens; t++) {
                    for (int r = 0; r < n; r++) {
                        float d = dot(x[t], rows[r], k0, k1);
                        y[t][o + r] = first ? d : y[t][o + r] + d;
                    }
                }
            }
        }
    }

    /** Tokens t..t+3 × rows o..o+3 over inputs [k0, k1), added to (or, for the first slice, stored in) y. */
    private static void block4x4(float[][] x, float[][] y, int t, float[][] w, int o, int k0, int k1, boolean first) {
        float[] x0 = x[t], x1 = x[t + 1], x2 = x[t + 2], x3 = x[t + 3];
        float[] w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int k = k0;
        for (int bound = k0 + F.loopBound(k1 - k0); k < bound; k += L) {
            FloatVector r0 = FloatVector.fromArray(F, w0, k), r1 = FloatVector.fromArray(F, w1, k);
            FloatVector r2 = FloatVector.fromArray(F, w2, k), r3 = FloatVector.fromArray(F, w3, k);
            FloatVector v = FloatVector.fromArray(F, x0, k);
            a00 = r0.fma(v, a00); a01 = r1.fma(v, a01); a02 = r2.fma(v, a02); a03 = r3.fma(v, a03);
            v = FloatVector.fromArray(F, x1, k);
            a10 = r0.fma(v, a10); a11 = r1.fma(v, a11); a12 = r2.fma(v, a12); a13 = r3.fma(v, a13);
            v = FloatVector.fromArray(F, x2, k);
            a20 = r0.fma(v, a20); a21 = r1.fma(v, a21); a22 = r2.fma(v, a22); a23 = r3.fma(v, a23);
            v = FloatVector.fromArray(F, x3, k);
            a30 = r0.fma(v, a30); a31 = r1.fma(v, a31); a32 = r2.fma(v, a32); a33 = r3.fma(v, a33);
        }
        float[] s = {
            a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD), a02.reduceLanes(VectorOperators.ADD), a03.reduceLanes(VectorOperators.ADD),
            a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD), a12.reduceLanes(VectorOperators.ADD), a13.reduceLanes(VectorOperators.ADD),
            a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD), a22.reduceLanes(VectorOperators.ADD), a23.reduceLanes(VectorOperators.ADD),
            a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD), a32.reduceLanes(VectorOperators.ADD), a33.reduceLanes(VectorOperators.ADD)};
        for (int q = 0; q < 4; q++) {
            float[] xq = x[t + q], yq = y[t + q];
            for (int r = 0; r < 4; r++) {
                float v = s[4 * q + r];
                for (int i = k; i < k1; i++) v += xq[i] * w[r][i];
                yq[o + r] = first ? v : yq[o + r] + v;
            }
        }
    }

    private static float dot(float[] a, float[] b, int k0, int k1) {
        FloatVector acc = FloatVector.zero(F);
        int k = k0;
        for (int bound = k0 + F.loopBound(k1 - k0); k < bound; k += L)
            acc = FloatVector.fromArray(F, a, k).fma(FloatVector.fromArray(F, b, k), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; k < k1; k++) s += a[k] * b[k];
        return s;
    }
}
