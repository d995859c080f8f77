package grokkit.e2e;

import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.runtime.Session;
import grokkit.verify.GoldenSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end against golden logits from an independent port of the reference: the runtime over a
 * {@code ckpt-0} checkpoint dequantized to float32 ({@link CheckpointWeights}) must give the same
 * top-1 token at every position and max |Δlogit| ≤ 2e-3 against the float32 golden files, both
 * for one full forward pass and for prefill + token-by-token decode through the KV cache.
 */
class GoldenLogitsTest {
    static final double MAX_ABS_F32 = 2e-3;

    /** The shared public-tiny fixture: {@code grok.shared} if set (worktrees), else {@code <grok.root>/../shared}. */
    static Path sharedTiny() {
        String root = System.getProperty("grok.root", ".");
        String shared = System.getProperty("grok.shared", root + "/../shared");
        return Path.of(shared).resolve("fixtures/public-tiny").normalize();
    }

    /** Committed fixtures: every golden-tests/fixtures/NAME with a ckpt-0 and golden/golden.json. */
    static List<Path> committedFixtures() throws IOException {
        Path dir = Path.of(System.getProperty("grok.root", ".")).resolve("golden-tests/fixtures");
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (Stream<Path> s = Files.list(dir)) {
            s.sorted().filter(GoldenLogitsTest::isFixture).forEach(out::add);
        }
        return out;
    }

    static boolean isFixture(Path d) {
        return Files.isDirectory(d.resolve("ckpt-0")) && Files.isRegularFile(d.resolve("golden").resolve(GoldenSet.FILE_NAME));
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** Same top-1 at every position and max |Δ| within bound, over rows {@code [from, T)}. */
    static double assertMatchesGolden(String what, float[][] got, float[][] golden, int from) {
        assertThat(got.length).as("%s: positions", what).isEqualTo(golden.length);
        double max = 0;
        for (int t = from; t < got.length; t++) {
            assertThat(got[t]).as("%s: vocab at %d", what, t).hasSameSizeAs(golden[t]);
            assertThat(argmax(got[t])).as("%s: top-1 at position %d", what, t).isEqualTo(argmax(golden[t]));
            for (int i = 0; i < got[t].length; i++) max = Math.max(max, Math.abs(got[t][i] - golden[t][i]));
        }
        assertThat(max).as("%s: max |Δlogit|", what).isLessThanOrEqualTo(MAX_ABS_F32);
        System.out.printf(Locale.ROOT, "%s: T=%d, max |Δlogit| = %.3g vs f32 golden, same top-1 at every position%n", what, got.length, max);
        return max;
    }

    static void checkFixture(Path fixture) throws Exception {
        GoldenSet golden = GoldenSet.read(fixture.resolve("golden"));
        assertThat(golden.modes()).containsKey("f32");
        try (CheckpointWeights w = new CheckpointWeights(fixture.resolve("ckpt-0"), fixture.resolve("config.json"));
             GrokModel model = new GrokModel(w, new RuntimeOptions(2, 0, 16))) {
            for (GoldenSet.Prompt p : golden.prompts()) {
                float[][] want = golden.logits(p, "f32");
                String name = fixture.getFileName() + " p" + p.k();
                assertMatchesGolden(name + " forward", model.forward(p.tokens()), want, 0);
                // Through the KV cache: prefill half the prompt, then decode one token at a time.
                int prefill = Math.max(1, p.length() / 2);
                float[][] stepwise = new float[p.length()][];
                try (Session s = model.newSession()) {
                    stepwise[prefill - 1] = s.prefill(Arrays.copyOf(p.tokens(), prefill));
                    for (int t = prefill; t < p.length(); t++) stepwise[t] = s.decode(p.tokens()[t]);
                }
                for (int t = 0; t < prefill - 1; t++) stepwise[t] = want[t]; // prefill returns only its last row
                assertMatchesGolden(name + " prefill+decode", stepwise, want, prefill - 1);
            }
        }
    }

    @Test
    void sharedPublicTinyMatchesFloat32Golden() throws Exception {
        Path tiny = sharedTiny();
        Assumptions.assumeTrue(isFixture(tiny), "shared fixture " + tiny + " is absent (set -Dgrok.shared=DIR): skipping the public-tiny golden check");
        checkFixture(tiny);
    }

    @TestFactory
    Stream<DynamicTest> committedFixturesMatchFloat32Golden() throws IOException {
        List<Path> fixtures = committedFixtures();
        Assumptions.assumeTrue(!fixtures.isEmpty(), "no committed fixture with ckpt-0/ and golden/golden.json in golden-tests/fixtures yet");
        return fixtures.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> checkFixture(f)));
    }
}
