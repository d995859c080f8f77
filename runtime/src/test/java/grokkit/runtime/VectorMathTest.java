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
}
