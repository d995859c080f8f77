package grokkit.runtime;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GeneratorTest {
    static final int[] PROMPT = {1, 17, 5, 33, 8};

    static GrokModel model(int maxContext) throws Exception {
        return new GrokModel(new RandomWeights(RandomWeights.tinyConfig(), 42, 4.0), new RuntimeOptions(1, maxContext, 4));
    }

    static Generator.Result run(GrokModel m, int max, Sampler s, int eos, List<Integer> streamed) throws Exception {
        try (Session session = m.newSession()) {
            return Generator.generate(session, PROMPT, max, s, eos, streamed::add);
        }
    }

    @Test
    void sameSeedSameTokensAndStreamMatchesResult() throws Exception {
        try (GrokModel m = model(0)) {
            List<Integer> streamedA = new ArrayList<>(), streamedB = new ArrayList<>(), streamedC = new ArrayList<>();
            Generator.Result a = run(m, 12, new Sampler(1.0f, 0.95f, 7), -1, streamedA);
            Generator.Result b = run(m, 12, new Sampler(1.0f, 0.95f, 7), -1, streamedB);
            Generator.Result c = run(m, 12, new Sampler(1.0f, 0.95f, 8), -1, streamedC);
            assertThat(a.generated()).hasSize(12).isEqualTo(b.generated());
            assertThat(a.generated()).isNotEqualTo(c.generated());
            assertThat(streamedA.stream().mapToInt(Integer::intValue).toArray()).isEqualTo(a.generated());
            assertThat(a.stop()).isEqualTo(Generator.Stop.LIMIT);
            assertThat(a.decodeSteps()).isEqualTo(11);
        }
    }

    @Test
    void greedyDecodingWithTheCacheEqualsArgmaxOfFullForwardPasses() throws Exception {
        try (GrokModel m = model(0)) {
            Generator.Result r = run(m, 6, new Sampler(0f, 1f, 0), -1, new ArrayList<>());
            int[] seq = Arrays.copyOf(PROMPT, PROMPT.length + r.generated().length);
            for (int i = 0; i < r.generated().length; i++) {
                float[][] all = m.forward(Arrays.copyOf(seq, PROMPT.length + i));
                assertThat(r.generated()[i]).as("token %d", i).isEqualTo(Sampler.argmax(all[all.length - 1]));
                seq[PROMPT.length + i] = r.generated()[i];
            }
        }
    }

    @Test
    void stopsAtEosAndAtTheContextLimit() throws Exception {
        try (GrokModel m = model(0)) {
            int first = run(m, 1, new Sampler(0f, 1f, 0), -1, new ArrayList<>()).generated()[0];
            Generator.Result eos = run(m, 10, new Sampler(0f, 1f, 0), first, new ArrayList<>());
            assertThat(eos.stop()).isEqualTo(Generator.Stop.EOS);
            assertThat(eos.generated()).containsExactly(first);
        }
        try (GrokModel m = model(PROMPT.length + 3)) {
            Generator.Result full = run(m, 10, new Sampler(0f, 1f, 0), -1, new ArrayList<>());
            assertThat(full.stop()).isEqualTo(Generator.Stop.CONTEXT);
            assertThat(full.generated()).hasSize(4); // 3 decoded into the cache + 1 drawn from the last logits
        }
    }
}
