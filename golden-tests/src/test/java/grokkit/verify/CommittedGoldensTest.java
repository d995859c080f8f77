package grokkit.verify;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every golden set committed under {@code golden-tests/fixtures/} (and the shared public-tiny one)
 * must be readable by {@link GoldenSet}: hashes, shapes and modes as golden.json says, and
 * consistent with its own {@code argmax} and {@code bf16_vs_f32} records. Catches drift between
 * the Python golden writer and the Java reader before any model is run.
 */
class CommittedGoldensTest {
    private static List<Path> goldenDirs() throws IOException {
        String root = System.getProperty("grok.root", ".");
        List<Path> dirs = new ArrayList<>();
        Path fixtures = Path.of(root, "golden-tests", "fixtures");
        if (Files.isDirectory(fixtures)) {
            try (Stream<Path> s = Files.list(fixtures)) {
                s.map(d -> d.resolve("golden")).filter(d -> Files.isRegularFile(d.resolve(GoldenSet.FILE_NAME)))
                        .sorted().forEach(dirs::add);
            }
        }
        Path shared = Path.of(System.getProperty("grok.shared", root + "/../shared"), "fixtures/public-tiny/golden");
        if (Files.isRegularFile(shared.resolve(GoldenSet.FILE_NAME))) dirs.add(shared.normalize());
        return dirs;
    }

    @TestFactory
    Stream<DynamicTest> everyGoldenSetReadsAndAgreesWithItsOwnRecords() throws IOException {
        List<Path> dirs = goldenDirs();
        assumeTrue(!dirs.isEmpty(), "no golden sets committed under golden-tests/fixtures/*/golden and no shared"
                + " public-tiny; nothing to check");
        return dirs.stream().map(dir -> DynamicTest.dynamicTest(dir.toString(), () -> check(dir)));
    }

    private static void check(Path dir) throws IOException {
        GoldenSet set = GoldenSet.read(dir);
        assertThat(set.modes()).as("modes of " + dir).containsKey("f32");
        for (String mode : set.modes().keySet()) {
            set.requireMode(mode);
            for (int i = 0; i < set.prompts().size(); i++) {
                GoldenSet.Prompt p = set.prompts().get(i);
                float[][] x = set.logits(p, mode); // checks sha256, shape, finiteness
                var argmax = set.json().path("prompts").get(i).path("argmax").path(mode);
                if (argmax.isArray()) {
                    for (int t = 0; t < x.length; t++) {
                        assertThat(Metrics.argmax(x[t])).as(dir + " k=" + p.k() + " " + mode + " argmax row " + t)
                                .isEqualTo(argmax.get(t).asInt());
                    }
                }
            }
        }
        if (set.modes().containsKey("bf16")) {
            // Our metrics reproduce the writer's own bf16-vs-f32 record.
            VerifyResult r = Verifier.verify(set, "f32", tokens -> {
                for (GoldenSet.Prompt p : set.prompts()) {
                    if (java.util.Arrays.equals(p.tokens(), tokens)) return set.logits(p, "bf16");
                }
                throw new IllegalArgumentException("unknown prompt");
            }, "bf16 golden", Thresholds.defaults(Thresholds.Family.INT4, "f32"), s -> {});
            for (int i = 0; i < set.prompts().size(); i++) {
                var rec = set.json().path("prompts").get(i).path("bf16_vs_f32");
                if (rec.has("max_abs")) {
                    assertThat(r.prompts().get(i).summary().maxAbsDiff()).as(dir + " k=" + set.prompts().get(i).k())
                            .isCloseTo(rec.get("max_abs").asDouble(), org.assertj.core.api.Assertions.within(1e-6));
                }
                if (rec.has("argmax_agree")) {
                    assertThat(r.prompts().get(i).summary().sameTop1Rate()).isCloseTo(rec.get("argmax_agree").asDouble(),
                            org.assertj.core.api.Assertions.within(1e-9));
                }
            }
        }
    }
}
