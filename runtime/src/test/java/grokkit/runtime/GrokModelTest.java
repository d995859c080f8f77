package grokkit.runtime;

import grokkit.quant.ScalarMatrices;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GrokModelTest {
    private static final int[] PROMPT = {5, 17, 3, 44, 9, 1, 31, 12, 7, 49, 2};

    private static RandomWeights weights() {
        return new RandomWeights(RandomWeights.tinyConfig(), 42, 4.0);
    }

    private static RuntimeOptions opts(int threads, int chunk) {
        return new RuntimeOptions(threads, 0, chunk);
    }

    static double maxAbsDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void forwardMatchesTheDoublePrecisionOracle() throws Exception {
        RandomWeights w = weights();
        double[][] expect = NaiveGrok.forward(w, PROMPT);
        try (GrokModel m = new GrokModel(w, opts(1, 128))) {
            float[][] got = m.forward(PROMPT);
            assertThat(got).hasNumberOfRows(PROMPT.length);
            double scale = 0;
            for (int t = 0; t < PROMPT.length; t++) {
                assertThat(got[t]).hasSize(50);
                assertThat(maxAbsDiff(got[t], expect[t])).as("position %d", t).isLessThan(2e-4);
                for (double v : expect[t]) scale = Math.max(scale, Math.abs(v));
            }
            assertThat(scale).as("logits are not trivially small").isGreaterThan(1.0);
        }
    }

    @Test
    void prefillThenDecodeEqualsTheFullForward() throws Exception {
        RandomWeights w = weights();
        try (GrokModel m = new GrokModel(w, opts(2, 4))) {
            float[][] full = m.forward(PROMPT);
            try (Session s = m.newSession()) {
                float[] last = s.prefill(java.util.Arrays.copyOf(PROMPT, 5));
                assertThat(last).containsExactly(full[4]);
                for (int t = 5; t < PROMPT.length; t++) {
                    float[] step = s.decode(PROMPT[t]);
                    assertThat(step).as("decode position %d", t).containsExactly(full[t]);
                }
                assertThat(s.position()).isEqualTo(PROMPT.length);
                s.reset();
                assertThat(s.prefill(PROMPT)).containsExactly(full[PROMPT.length - 1]);
            }
        }
    }

    @Test
    void chunkingAndThreadsDoNotChangeABit() throws Exception {
        RandomWeights w = weights();
        float[][] ref;
        try (GrokModel m = new GrokModel(w, opts(1, 128))) {
            ref = m.forward(PROMPT);
        }
        for (RuntimeOptions o : new RuntimeOptions[] {opts(1, 1), opts(3, 3), opts(2, 128), opts(8, 7), opts(2, 1)}) {
            try (GrokModel m = new GrokModel(w, o)) {
                float[][] got = m.forward(PROMPT);
                for (int t = 0; t < PROMPT.length; t++)
                    assertThat(got[t]).as("%s position %d", o, t).containsExactly(ref[t]);
            }
        }
    }

    @Test
    void laterTokensNeverChangeEarlierLogits() throws Exception {
        try (GrokModel m = new GrokModel(weights(), opts(1, 128))) {
            float[][] a = m.forward(new int[] {5, 17, 3, 44});
            float[][] b = m.forward(new int[] {5, 17, 3, 30});
            for (int t = 0; t < 3; t++) assertThat(a[t]).containsExactly(b[t]);
            assertThat(maxAbsDiff(a[3], b[3])).isGreaterThan(1e-3);
        }
    }

    @Test
    void padTokensAreMaskedAsKeysLikeTheReference() throws Exception {
        // A pad (0) in the middle is invisible to later queries; a leading pad's own query sees no
        // key and, as in the reference's single pass, averages over all keys of the call.
        RandomWeights w = weights();
        int[] tokens = {0, 5, 0, 17, 3};
        double[][] expect = NaiveGrok.forward(w, tokens);
        try (GrokModel m = new GrokModel(w, opts(1, 128))) {
            float[][] got = m.forward(tokens);
            for (int t = 0; t < tokens.length; t++) assertThat(maxAbsDiff(got[t], expect[t])).as("position %d", t).isLessThan(2e-4);
            // Masking makes position 4's logits independent of what the pads' keys are: replacing
            // the pads by another token changes them, keeping the pads keeps them.
            float[][] other = m.forward(new int[] {4, 5, 4, 17, 3});
            assertThat(maxAbsDiff(got[4], other[4])).isGreaterThan(1e-3);
        }
    }

    @Test
    void routingTiesPickTheLowerExperts() throws Exception {
        // A zero router makes every expert equally likely (1/E): the reference's top_k takes
        // experts 0 and 1, each gated by 1/E (not renormalised to 1/2).
        RandomWeights w = weights();
        ModelConfig c = w.config();
        for (int l = 0; l < c.numLayers(); l++)
            w.put(ParamNames.layer(l, ParamNames.ROUTER), ScalarMatrices.ofFloats(c.embSize(), c.numExperts(), new float[c.embSize() * c.numExperts()]));
        double[][] expect = NaiveGrok.forward(w, PROMPT);
        try (GrokModel m = new GrokModel(w, opts(2, 128))) {
            float[][] got = m.forward(PROMPT);
            for (int t = 0; t < PROMPT.length; t++) assertThat(maxAbsDiff(got[t], expect[t])).isLessThan(2e-4);
        }
    }

    @Test
    void badTokensAreRejectedWithClearMessages() throws Exception {
        try (GrokModel m = new GrokModel(weights(), opts(1, 128))) {
            assertThatThrownBy(() -> m.forward(new int[0])).isInstanceOf(BadInputException.class).hasMessageContaining("empty");
            assertThatThrownBy(() -> m.forward(new int[] {3, 50})).isInstanceOf(BadInputException.class)
                    .hasMessageContaining("token id 50 at index 1").hasMessageContaining("[0, 50)");
            assertThatThrownBy(() -> m.forward(new int[] {-1})).isInstanceOf(BadInputException.class).hasMessageContaining("-1");
            assertThatThrownBy(() -> m.forward(new int[65])).isInstanceOf(BadInputException.class)
                    .hasMessageContaining("65 tokens exceed the context limit of 64");
            try (Session s = m.newSession()) {
                s.prefill(new int[60]);
                assertThatThrownBy(() -> s.prefill(new int[5])).isInstanceOf(BadInputException.class).hasMessageContaining("60 already");
                for (int i = 0; i < 4; i++) s.decode(7);
                assertThatThrownBy(() -> s.decode(7)).isInstanceOf(BadInputException.class);
                assertThatThrownBy(() -> s.decode(99)).isInstanceOf(BadInputException.class).hasMessageContaining("99");
                assertThat(s.position()).isEqualTo(64);
            }
        }
    }

    @Test
    void aModelWhoseShapesDisagreeWithItsConfigIsRejectedAtLoad() {
        RandomWeights w = weights();
        w.put(ParamNames.layer(1, ParamNames.ATTN_KEY), ScalarMatrices.ofFloats(32, 8, new float[32 * 8]));
        assertThatThrownBy(() -> new GrokModel(w, opts(1, 128))).isInstanceOf(BadInputException.class)
                .hasMessageContaining("transformer/decoder_layer_1/multi_head_attention/key/w is [32, 8], expected [32, 16]");
        RandomWeights missing = weights();
        missing.put(ParamNames.layer(0, ParamNames.ROUTER), null);
        assertThatThrownBy(() -> new GrokModel(missing, opts(1, 128))).isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing matrix transformer/decoder_layer_0/router/w");
    }
}
