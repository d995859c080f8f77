package grokkit.runtime;

import grokkit.model.ModelConfig;
import grokkit.quant.Imatrix;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ImatrixCollectorTest {
    private static final int[] PROMPT = {5, 17, 3, 44, 9, 1, 31, 12, 7, 49, 2};
    private static final int[] OTHER = {8, 8, 21, 40, 33, 6};

    @Test
    void statisticsMatchTheDoublePrecisionOracle() throws Exception {
        RandomWeights w = new RandomWeights(RandomWeights.tinyConfig(), 42, 4.0);
        ModelConfig c = w.config();
        // Windows of 6: PROMPT runs as [0, 6) and [6, 11), each from position 0, as the oracle does.
        NaiveGrok.ExpertStats want = new NaiveGrok.ExpertStats(c);
        NaiveGrok.forward(w, Arrays.copyOfRange(PROMPT, 0, 6), want);
        NaiveGrok.forward(w, Arrays.copyOfRange(PROMPT, 6, 11), want);
        NaiveGrok.forward(w, OTHER, want);
        Imatrix got;
        try (GrokModel m = new GrokModel(w, new RuntimeOptions(2, 0, 4))) {
            got = ImatrixCollector.collect(m, List.of(PROMPT, OTHER), 6).result("test");
        }
        long total = 0;
        for (int l = 0; l < c.numLayers(); l++) {
            for (int e = 0; e < c.numExperts(); e++) {
                long n = want.tokens()[l][e];
                total += n;
                assertThat(got.tokens(l, e)).as("tokens of layer %d expert %d", l, e).isEqualTo(n);
                check(got.meanSquares(l, e, false), want.in()[l * c.numExperts() + e], n);
                check(got.meanSquares(l, e, true), want.down()[l * c.numExperts() + e], n);
            }
        }
        assertThat(total).isEqualTo((long) c.numLayers() * c.numSelectedExperts() * (PROMPT.length + OTHER.length));
        assertThat(got.calibration()).isEqualTo("test");
    }

    private static void check(float[] got, double[] sum, long n) {
        double max = 0;
        for (double v : sum) max = Math.max(max, v);
        for (int i = 0; i < got.length; i++) {
            double want = n == 0 ? 0 : sum[i] / n;
            assertThat((double) got[i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * max / Math.max(1, n) + 1e-12));
        }
    }

    @Test
    void observingDoesNotChangeTheLogits() throws Exception {
        RandomWeights w = new RandomWeights(RandomWeights.tinyConfig(), 7, 4.0);
        try (GrokModel m = new GrokModel(w, new RuntimeOptions(1, 0, 3))) {
            float[] plain, seen;
            try (Session s = m.newSession()) {
                plain = s.prefill(PROMPT);
            }
            ImatrixCollector c = new ImatrixCollector(w.config());
            try (Session s = m.newSession()) {
                s.observe(c);
                seen = s.prefill(PROMPT);
            }
            assertThat(seen).containsExactly(plain);
            assertThat(c.tokens(0, 0) + c.tokens(0, 1) + c.tokens(0, 2) + c.tokens(0, 3)).isGreaterThan(0);
        }
    }
}
