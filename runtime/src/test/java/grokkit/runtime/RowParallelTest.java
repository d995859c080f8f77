package grokkit.runtime;

import grokkit.quant.ScalarMatrices;
import grokkit.quant.WeightMatrix;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class RowParallelTest {
    private static WeightMatrix random(Random r, int in, int out) {
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        return ScalarMatrices.ofFloats(in, out, w);
    }

    @Test
    void groupedProductsEqualSerialOnesForUnalignedShapes() {
        Random r = new Random(1);
        // 300 and 37 outputs are not multiples of the pool's 16-row alignment.
        WeightMatrix a = random(r, 37, 300), b = random(r, 37, 37), c = random(r, 37, 5);
        float[][] x = new float[5][37];
        for (float[] row : x) for (int i = 0; i < 37; i++) row[i] = (float) r.nextGaussian();
        WeightMatrix[] ms = {a, b, c};
        float[][][] serial = new float[3][][];
        for (int m = 0; m < 3; m++) {
            serial[m] = new float[5][ms[m].outDim()];
            for (int t = 0; t < 5; t++) ms[m].matvec(x[t], serial[m][t], 0, ms[m].outDim());
        }
        try (RowParallel p = new RowParallel(3)) {
            for (int rep = 0; rep < 20; rep++) {
                float[][][] got = new float[3][][];
                for (int m = 0; m < 3; m++) got[m] = new float[5][ms[m].outDim()];
                p.matmuls(ms, new float[][][] {x, x, x}, got);
                for (int m = 0; m < 3; m++) assertThat(got[m]).isDeepEqualTo(serial[m]);
                float[][] one = new float[1][300];
                p.matmul(a, new float[][] {x[2]}, one);
                assertThat(one[0]).containsExactly(serial[0][2]);
            }
            AtomicIntegerArray seen = new AtomicIntegerArray(1001);
            p.forRange(1001, (from, to) -> { for (int i = from; i < to; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < 1001; i++) assertThat(seen.get(i)).isEqualTo(1);
        }
    }

    @Test
    void aWorkerFailureReachesTheCaller() {
        try (RowParallel p = new RowParallel(2)) {
            assertThatThrownBy(() -> p.forRange(4096, (from, to) -> { if (from > 0) throw new IllegalArgumentException("boom"); }))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("boom");
            AtomicIntegerArray seen = new AtomicIntegerArray(64);
            p.forRange(64, (from, to) -> { for (int i = from; i < to; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < 64; i++) assertThat(seen.get(i)).isEqualTo(1);
        }
    }

    @Test
    void fusedExpertProductsEqualTheSerialFeedForward() {
        Random r = new Random(3);
        int in = 40, ffn = 300, out = 37, experts = 3, selected = 2, tokens = 4;
        WeightMatrix[] gate = new WeightMatrix[experts], up = new WeightMatrix[experts], down = new WeightMatrix[experts];
        for (int e = 0; e < experts; e++) {
            gate[e] = random(r, in, ffn);
            up[e] = random(r, in, ffn);
            down[e] = random(r, ffn, out);
        }
        float[][] x = new float[tokens][in];
        for (float[] row : x) for (int i = 0; i < in; i++) row[i] = (float) r.nextGaussian() / 4;
        int[][] chosen = {{0, 2}, {2, 1}, {0, 1}, {1, 0}};
        float[][] gates = {{0.5f, 0.25f}, {0.7f, 0.1f}, {0.3f, 0.3f}, {0.9f, 0.05f}};
        // Serial reference, assignment by assignment.
        float[][] want = new float[tokens][out];
        for (int t = 0; t < tokens; t++) {
            for (int s = 0; s < selected; s++) {
                int e = chosen[t][s];
                float[] g = new float[ffn], u = new float[ffn], y = new float[out];
                gate[e].matvec(x[t], g, 0, ffn);
                up[e].matvec(x[t], u, 0, ffn);
                for (int i = 0; i < ffn; i++) g[i] = u[i] * Ops.geluTanh(g[i]);
                down[e].matvec(g, y, 0, out);
                for (int o = 0; o < out; o++) want[t][o] += gates[t][s] * y[o];
            }
        }
        // Grouped by expert as Session does: expert e's tokens in token order.
        float[][] hidden = new float[tokens * selected][ffn], upBuf = new float[tokens * selected][ffn], flat = new float[tokens * selected][out];
        float[][][] xs = new float[experts][][], hs = new float[experts][][], us = new float[experts][][], os = new float[experts][][];
        for (int e = 0; e < experts; e++) {
            java.util.List<Integer> as = new java.util.ArrayList<>();
            for (int t = 0; t < tokens; t++) for (int s = 0; s < selected; s++) if (chosen[t][s] == e) as.add(t * selected + s);
            xs[e] = new float[as.size()][];
            hs[e] = new float[as.size()][];
            us[e] = new float[as.size()][];
            os[e] = new float[as.size()][];
            for (int j = 0; j < as.size(); j++) {
                int a = as.get(j);
                xs[e][j] = x[a / selected];
                hs[e][j] = hidden[a];
                us[e][j] = upBuf[a];
                os[e][j] = flat[a];
            }
        }
        try (RowParallel p = new RowParallel(3)) {
            for (int rep = 0; rep < 5; rep++) {
                float[][] got = new float[tokens][out];
                p.gatedMatmuls(gate, up, xs, hs, us);
                p.combinedMatmuls(down, hs, os, flat, gates, got);
                for (int t = 0; t < tokens; t++)
                    for (int o = 0; o < out; o++)
                        assertThat(got[t][o]).as("t=%d o=%d", t, o).isCloseTo(want[t][o], within(1e-4f * Math.max(1, Math.abs(want[t][o]))));
            }
        }
    }
}
