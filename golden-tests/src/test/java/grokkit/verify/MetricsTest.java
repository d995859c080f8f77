package grokkit.verify;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MetricsTest {
    private static float[] logs(double... p) {
        float[] x = new float[p.length];
        for (int i = 0; i < p.length; i++) x[i] = (float) Math.log(p[i]);
        return x;
    }

    @Test
    void identicalDistributionsHaveZeroKlAndPerfectAgreement() {
        float[] a = {1.5f, -2f, 0.25f, 7f, 3f, 3f, -1f};
        Metrics.Position p = Metrics.comparePosition(a, a.clone(), 2);
        assertThat(p.kl()).isEqualTo(0.0);
        assertThat(p.maxAbsDiff()).isEqualTo(0.0);
        assertThat(p.cosine()).isCloseTo(1.0, within(1e-15));
        assertThat(p.sameTop1()).isTrue();
        assertThat(p.top5Overlap()).isEqualTo(5);
        assertThat(p.deltaPTop()).isEqualTo(0.0);
        assertThat(p.nllOurs()).isEqualTo(p.nllGolden());
        Metrics.Summary s = Metrics.summarize(List.of(p), a.length);
        assertThat(s.pplRatio()).isEqualTo(1.0);
        assertThat(s.klMean()).isZero();
    }

    @Test
    void knownKlOfTwoThreeWayDistributions() {
        // p = (1/2, 1/4, 1/4), q = (1/4, 1/2, 1/4): KL(p||q) = 1/2 ln 2 + 1/4 ln(1/2) = ln(2)/4
        float[] golden = logs(0.5, 0.25, 0.25);
        float[] ours = logs(0.25, 0.5, 0.25);
        Metrics.Position p = Metrics.comparePosition(golden, ours, 1);
        assertThat(p.kl()).isCloseTo(Math.log(2) / 4, within(1e-7));
        // and the other direction is not the same number: KL(q||p) = ln(2)/4 as well here by symmetry,
        // so check an asymmetric pair too: p=(0.7,0.2,0.1), q=(0.1,0.2,0.7)
        Metrics.Position asym = Metrics.comparePosition(logs(0.7, 0.2, 0.1), logs(0.5, 0.3, 0.2), -1);
        double want = 0.7 * Math.log(0.7 / 0.5) + 0.2 * Math.log(0.2 / 0.3) + 0.1 * Math.log(0.1 / 0.2);
        assertThat(asym.kl()).isCloseTo(want, within(1e-7));
        // Δp of the golden top token (index 0): 0.25 - 0.5
        assertThat(p.deltaPTop()).isCloseTo(-0.25, within(1e-7));
        assertThat(p.goldenTop1()).isZero();
        assertThat(p.oursTop1()).isEqualTo(1);
        assertThat(p.sameTop1()).isFalse();
        // next token 1: NLL golden = ln 4, ours = ln 2
        assertThat(p.nllGolden()).isCloseTo(Math.log(4), within(1e-7));
        assertThat(p.nllOurs()).isCloseTo(Math.log(2), within(1e-7));
    }

    @Test
    void klIsInvariantToAConstantShiftOfTheLogits() {
        float[] g = {1f, 2f, 3f};
        float[] o = {101f, 102f, 103f};
        Metrics.Position p = Metrics.comparePosition(g, o, -1);
        assertThat(p.kl()).isCloseTo(0.0, within(1e-12));
        assertThat(p.maxAbsDiff()).isEqualTo(100.0);
        assertThat(p.sameTop1()).isTrue();
    }

    @Test
    void topKAndOverlap() {
        float[] a = {0f, 9f, 8f, 7f, 6f, 5f, 4f};
        float[] b = {9f, 8f, 0f, 7f, 6f, 5f, 1f};
        assertThat(Metrics.topK(a, 5)).containsExactly(1, 2, 3, 4, 5);
        assertThat(Metrics.topK(b, 5)).containsExactly(0, 1, 3, 4, 5);
        assertThat(Metrics.topKOverlap(a, b, 5)).isEqualTo(4); // {1,3,4,5}
        // ties: lower index first, like numpy's stable argsort of -x
        assertThat(Metrics.topK(new float[] {1f, 3f, 3f, 3f}, 2)).containsExactly(1, 2);
        assertThat(Metrics.argmax(new float[] {3f, 5f, 5f})).isEqualTo(1);
        assertThat(Metrics.topK(new float[] {2f, 1f}, 5)).containsExactly(0, 1);
    }

    @Test
    void perplexityRatioUsesTheNextPromptTokens() {
        // two positions, targets tokens[1]=2 and tokens[2]=0; last position has no target
        float[][] golden = {logs(0.2, 0.3, 0.5), logs(0.6, 0.2, 0.2), logs(0.3, 0.3, 0.4)};
        float[][] ours = {logs(0.4, 0.2, 0.4), logs(0.3, 0.4, 0.3), logs(0.1, 0.1, 0.8)};
        int[] tokens = {1, 2, 0};
        List<Metrics.Position> ps = Metrics.comparePrompt(golden, ours, tokens);
        assertThat(ps.get(2).hasTarget()).isFalse();
        Metrics.Summary s = Metrics.summarize(ps, 3);
        assertThat(s.pplTargets()).isEqualTo(2);
        double nllG = (-Math.log(0.5) - Math.log(0.6)) / 2, nllO = (-Math.log(0.4) - Math.log(0.3)) / 2;
        assertThat(s.pplGolden()).isCloseTo(Math.exp(nllG), within(1e-6));
        assertThat(s.pplOurs()).isCloseTo(Math.exp(nllO), within(1e-6));
        assertThat(s.pplRatio()).isCloseTo(Math.exp(nllO - nllG), within(1e-6));
        // a one-token prompt has no target: ratio undefined
        Metrics.Summary one = Metrics.summarize(Metrics.comparePrompt(new float[][] {golden[0]}, new float[][] {ours[0]},
                new int[] {1}), 3);
        assertThat(one.pplRatio()).isNaN();
    }

    @Test
    void percentilesInterpolateLikeLlamaCpp() {
        double[] v = {1, 2, 3, 4};
        assertThat(Metrics.percentile(v, 0.5)).isEqualTo(2.5);
        assertThat(Metrics.percentile(v, 0.99)).isCloseTo(3.97, within(1e-12));
        assertThat(Metrics.percentile(v, 0)).isEqualTo(1);
        assertThat(Metrics.percentile(v, 1)).isEqualTo(4);
        assertThat(Metrics.percentile(new double[] {1, 2, 3}, 0.5)).isEqualTo(2);
        assertThat(Metrics.percentile(new double[0], 0.5)).isNaN();
    }

    @Test
    void summaryPoolsMaxRmsAndRates() {
        float[][] golden = {{0f, 0f, 0f, 0f}, {1f, 2f, 3f, 4f}};
        float[][] ours = {{0.5f, 0f, 0f, 0f}, {1f, 2f, 4.5f, 4f}}; // second row: top-1 changes 3 -> 2
        Metrics.Summary s = Metrics.summarize(Metrics.comparePrompt(golden, ours, new int[] {0, 1}), 4);
        assertThat(s.maxAbsDiff()).isEqualTo(1.5);
        assertThat(s.rmsAbsDiff()).isCloseTo(Math.sqrt((0.25 + 2.25) / 8), within(1e-12));
        assertThat(s.sameTop1Rate()).isEqualTo(0.5);
        assertThat(s.top5Overlap()).isEqualTo(1.0); // vocab 4: top-4 sets are the whole vocabulary
        assertThat(s.klMax()).isGreaterThan(s.klMedian()).isGreaterThan(0);
        assertThat(s.cosineMin()).isLessThan(1);
    }

    @Test
    void nonFiniteLogitsAreCountedAndPoisonTheMetrics() {
        float[] g = {1f, 2f, 3f};
        Metrics.Position p = Metrics.comparePosition(g, new float[] {1f, Float.NaN, 3f}, -1);
        assertThat(p.nonFinite()).isEqualTo(1);
        assertThat(p.kl()).isNaN();
        Metrics.Summary s = Metrics.summarize(List.of(p, Metrics.comparePosition(g, g, -1)), 3);
        assertThat(s.nonFinite()).isEqualTo(1);
        assertThat(s.maxAbsDiff()).isNaN();
        List<Thresholds.Check> checks = Thresholds.defaults(Thresholds.Family.INT4, "f32").check(s);
        assertThat(checks).filteredOn(c -> !c.passed()).extracting(Thresholds.Check::metric)
                .contains("non_finite", "kl_mean");
    }

    @Test
    void familyOfAModelIsItsLossiestEncoding() {
        assertThat(Thresholds.Family.ofEncodings(List.of("f32", "int8-rowblock", "bf16"))).isEqualTo(Thresholds.Family.LOSSLESS);
        assertThat(Thresholds.Family.ofEncodings(List.of("int8-rowblock", "q8"))).isEqualTo(Thresholds.Family.Q8);
        assertThat(Thresholds.Family.ofEncodings(List.of("q8", "q4", "int8-rowblock"))).isEqualTo(Thresholds.Family.INT4);
        assertThat(Thresholds.Family.ofEncodings(List.of("q4_0"))).isEqualTo(Thresholds.Family.INT4);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Thresholds.Family.ofEncodings(List.of("fp8")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fp8");
    }
}
