package grokkit.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class VectorMathTest {
    @Test
    void dotAndAxpyMatchScalarLoopsAtHeadSizesAndRaggedTails() {
        Random r = new Random(9);
        for (int n : new int[] {1, 8, 37, 128, 131}) {
            float[] a = new float[n + 5], b = new float[n + 3], y = new float[n + 7], y0;
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
            for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
            y0 = y.clone();
            double expect = 0;
            for (int i = 0; i < n; i++) expect += (double) a[5 + i] * b[3 + i];
            assertThat(VectorMath.dot(a, 5, b, 3, n)).as("n=%d", n).isCloseTo((float) expect, within(1e-4f));
            VectorMath.axpy(0.5f, b, 3, y, 7, n);
            for (int i = 0; i < y.length; i++) {
                float want = (i >= 7 && i < 7 + n) ? y0[i] + 0.5f * b[3 + i - 7] : y0[i];
                assertThat(y[i]).as("n=%d i=%d", n, i).isCloseTo(want, within(1e-6f));
            }
        }
    }

    @Test
    void geluTimesMatchesTheScalarGeluOnEveryLaneAndTail() {
        Random r = new Random(4);
        float[] h = new float[203], u = new float[203];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) (r.nextGaussian() * 4);
            u[i] = (float) r.nextGaussian();
        }
        h[10] = 40; h[11] = -40; h[12] = 0; h[13] = -9; h[14] = 9;
        float[] got = h.clone();
        VectorMath.geluTimes(got, u, 3, 200);
        for (int i = 0; i < h.length; i++) {
            float want = i >= 3 && i < 200 ? u[i] * (float) NaiveGrok.gelu(h[i]) : h[i];
            assertThat(got[i]).as("i=%d x=%f", i, h[i]).isCloseTo(want, within(2e-6f * Math.max(1, Math.abs(want))));
        }
    }

    @Test
    void everyElementGetsTheSameBitsWhereverItFallsInAVector() {
        java.util.Random r = new java.util.Random(3);
        int n = 203;
        float[] h = new float[n], u = new float[n], x = new float[n];
        for (int i = 0; i < n; i++) {
            h[i] = (float) (r.nextGaussian() * 4);
            u[i] = (float) r.nextGaussian();
            x[i] = (float) r.nextGaussian();
        }
        for (int from = 0; from < 9; from++) {
            float[] g = h.clone();
            VectorMath.geluTimes(g, u, from, n);
            float[] y = u.clone();
            VectorMath.axpy(0.37f, x, from, y, from, n - from);
            for (int i = from; i < n; i++) {
                assertThat(Float.floatToRawIntBits(g[i])).as("gelu from %d, element %d", from, i)
                        .isEqualTo(Float.floatToRawIntBits(VectorMath.gelu(h[i]) * u[i]));
                assertThat(Float.floatToRawIntBits(y[i])).as("axpy from %d, element %d", from, i)
                        .isEqualTo(Float.floatToRawIntBits(Math.fma(x[i], 0.37f, u[i])));
            }
        }
    }

    @Test
    void ownExpIsWithinTwoUlpOfStrictMath() {
        for (float z = -87f; z <= 88f; z += 0.0137f) {
            float want = (float) StrictMath.exp(z);
            assertThat(Math.abs(VectorMath.exp(z) - want)).as("z=%f", z).isLessThanOrEqualTo(2 * Math.ulp(want));
        }
        assertThat(VectorMath.exp(-1000f)).isGreaterThan(0f).isLessThan(1e-37f);
        assertThat(VectorMath.exp(0f)).isEqualTo(1f);
    }
}
