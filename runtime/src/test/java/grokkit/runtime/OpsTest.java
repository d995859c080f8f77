package grokkit.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class OpsTest {
    @Test
    void rmsNormScalesByRootMeanSquare() {
        float[] x = {1, -2, 3, 4};
        float[] scale = {1, 2, 0.5f, 1};
        float[] out = new float[4];
        Ops.rmsNorm(x, scale, 1e-5f, out);
        double rms = Math.sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-5);
        assertThat(out[0]).isCloseTo((float) (1 / rms), within(1e-6f));
        assertThat(out[1]).isCloseTo((float) (2 * -2 / rms), within(1e-6f));
        assertThat(out[2]).isCloseTo((float) (0.5 * 3 / rms), within(1e-6f));
        assertThat(out[3]).isCloseTo((float) (4 / rms), within(1e-6f));
    }

    @Test
    void rmsNormEpsilonDominatesForZeroInput() {
        float[] out = new float[3];
        Ops.rmsNorm(new float[3], new float[] {1, 1, 1}, 1e-5f, out);
        assertThat(out).containsExactly(0f, 0f, 0f);
    }

    @Test
    void ropeMatchesTheRotateHalfFormulaAtEveryPosition() {
        int d = 128;
        Random r = new Random(3);
        float[] inv = Ops.ropeInverseFrequencies(d, 10000);
        float[] cos = new float[d / 2], sin = new float[d / 2];
        for (int pos : new int[] {0, 1, 7, 100, 4000, 8191}) {
            float[] v = new float[d + 4];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
            double[] expect = new double[d];
            for (int j = 0; j < d / 2; j++) {
                double theta = pos * Math.pow(10000, -2.0 * j / d);
                double x1 = v[2 + j], x2 = v[2 + j + d / 2];
                expect[j] = x1 * Math.cos(theta) - x2 * Math.sin(theta);
                expect[j + d / 2] = x2 * Math.cos(theta) + x1 * Math.sin(theta);
            }
            Ops.ropePhases(pos, inv, cos, sin);
            Ops.rope(v, 2, d, cos, sin);
            // float32 phases: the absolute error grows with the position as in the reference.
            float tol = pos < 200 ? 2e-5f : 2e-3f;
            for (int i = 0; i < d; i++) assertThat(v[2 + i]).as("pos %d dim %d", pos, i).isCloseTo((float) expect[i], within(tol));
        }
    }

    @Test
    void ropeIsIdentityAtPositionZeroAndRotatesHalvesNotPairs() {
        float[] inv = Ops.ropeInverseFrequencies(4, 10000);
        float[] cos = new float[2], sin = new float[2];
        Ops.ropePhases(0, inv, cos, sin);
        float[] v = {1, 2, 3, 4};
        Ops.rope(v, 0, 4, cos, sin);
        assertThat(v).containsExactly(1, 2, 3, 4);
        // position 1, frequency 0 is 1 rad: pair (v[0], v[2]) rotates by 1 rad, not (v[0], v[1]).
        Ops.ropePhases(1, inv, cos, sin);
        float[] u = {1, 0, 0, 0};
        Ops.rope(u, 0, 4, cos, sin);
        assertThat(u[0]).isCloseTo((float) Math.cos(1), within(1e-6f));
        assertThat(u[1]).isZero();
        assertThat(u[2]).isCloseTo((float) Math.sin(1), within(1e-6f));
        assertThat(inv[1]).isCloseTo(0.01f, within(1e-9f)); // 10000^(-2/4)
    }

    @Test
    void softmaxIsStableAndIgnoresMinusInfinity() {
        float[] x = {1000, 1001, Float.NEGATIVE_INFINITY, 999};
        Ops.softmax(x, 4);
        double e = Math.exp(-1), s = 1 + e + e * e;
        assertThat(x[1]).isCloseTo((float) (1 / s), within(1e-6f));
        assertThat(x[0]).isCloseTo((float) (e / s), within(1e-6f));
        assertThat(x[2]).isZero();
        assertThat(x[0] + x[1] + x[2] + x[3]).isCloseTo(1f, within(1e-6f));
    }

    @Test
    void geluIsTheTanhApproximation() {
        assertThat(Ops.geluTanh(0)).isZero();
        assertThat(Ops.geluTanh(1)).isCloseTo(0.8411920f, within(1e-6f));
        assertThat(Ops.geluTanh(-1)).isCloseTo(-0.1588080f, within(1e-6f));
        assertThat(Ops.geluTanh(3)).isCloseTo(2.9963627f, within(1e-6f));
        assertThat(Ops.geluTanh(-40)).isEqualTo(-0f);
        assertThat(Ops.geluTanh(40)).isEqualTo(40f);
        for (float x = -8; x <= 8; x += 0.37f) assertThat(Ops.geluTanh(x)).isCloseTo((float) NaiveGrok.gelu(x), within(2e-6f));
    }

    @Test
    void softCapBoundsLogitsAt30() {
        assertThat(Ops.softCap(1000, 30)).isCloseTo(30f, within(1e-4f));
        assertThat(Ops.softCap(-1000, 30)).isCloseTo(-30f, within(1e-4f));
        assertThat(Ops.softCap(3, 30)).isCloseTo((float) (30 * Math.tanh(0.1)), within(1e-6f));
    }

    @Test
    void topKOrdersByValueAndBreaksTiesByLowerIndex() {
        int[] idx = new int[2];
        Ops.topK(new float[] {0.1f, 0.3f, 0.2f, 0.4f}, 2, idx);
        assertThat(idx).containsExactly(3, 1);
        Ops.topK(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, 2, idx);
        assertThat(idx).containsExactly(0, 1);
        Ops.topK(new float[] {0.1f, 0.3f, 0.3f, 0.3f}, 2, idx);
        assertThat(idx).containsExactly(1, 2);
        int[] three = new int[3];
        Ops.topK(new float[] {0.5f, 0.1f, 0.2f, 0.2f}, 3, three);
        assertThat(three).containsExactly(0, 2, 3);
    }
}
