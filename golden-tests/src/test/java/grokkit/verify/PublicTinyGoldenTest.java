package grokkit.verify;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shared fixture's two golden modes against each other: bf16 logits as "ours" vs f32 golden
 * (and the reverse). Their difference is pure bf16 rounding, which the fixture README quantifies
 * (mean KL ~5e-4, max |Δ| up to ~0.2) — a real-data check of the metrics and of the defaults:
 * the tight lossless/f32 bounds must reject bf16 rounding; the bf16 and int4 bounds must accept it.
 */
class PublicTinyGoldenTest {
    static Path golden;

    // Per test (not @BeforeAll) so that each test is reported as skipped, with the reason.
    @BeforeEach
    void locate() {
        // <grok.root>/../shared by convention; grok.shared overrides it (e.g. when running from a git worktree).
        String root = System.getProperty("grok.root", ".");
        String shared = System.getProperty("grok.shared", root + "/../shared");
        golden = Path.of(shared).resolve("fixtures/public-tiny/golden").normalize();
        assumeTrue(Files.isRegularFile(golden.resolve("golden.json")),
                "shared fixture " + golden + " is absent; skipping the public-tiny golden comparison");
    }

    /** Reads the other mode's golden file of the same prompt as "ours". */
    private static LogitSource otherMode(GoldenSet set, String mode) {
        return tokens -> {
            for (GoldenSet.Prompt p : set.prompts()) {
                if (java.util.Arrays.equals(p.tokens(), tokens)) return set.logits(p, mode);
            }
            throw new IllegalArgumentException("unknown prompt");
        };
    }

    @Test
    void bf16VersusF32LandsInTheDocumentedRanges() throws IOException {
        GoldenSet set = GoldenSet.read(golden);
        VerifyResult r = Verifier.verify(set, "f32", otherMode(set, "bf16"), "golden bf16",
                Thresholds.defaults(Thresholds.Family.LOSSLESS, "f32"), s -> {});
        Metrics.Summary s = r.overall();
        assertThat(s.positions()).isEqualTo(32);
        assertThat(s.klMean()).isBetween(1e-4, 2e-3);
        assertThat(s.klMax()).isLessThan(1e-2);
        assertThat(s.maxAbsDiff()).isBetween(0.05, 0.3);
        // golden.json records the bf16-vs-f32 max |Δ| per prompt: we must measure the same numbers
        for (int i = 0; i < set.prompts().size(); i++) {
            double recorded = set.json().path("prompts").get(i).path("bf16_vs_f32").path("max_abs").asDouble();
            assertThat(r.prompts().get(i).summary().maxAbsDiff()).isCloseTo(recorded, org.assertj.core.api.Assertions.within(1e-6));
        }
        assertThat(s.sameTop1Rate()).isEqualTo(1.0);
        assertThat(s.cosineMin()).isGreaterThan(0.999);
        assertThat(s.pplRatio()).isBetween(0.95, 1.05);
        assertThat(s.deltaPRms()).isBetween(1e-4, 0.05);
        // bf16 rounding is far beyond the lossless float32 bounds...
        assertThat(r.passed()).isFalse();
        assertThat(r.failures()).extracting(Thresholds.Check::metric).contains("max_abs_diff");
        // ...and well within the int4 bounds
        assertThat(Thresholds.defaults(Thresholds.Family.INT4, "f32").check(s)).allMatch(Thresholds.Check::passed);
    }

    @Test
    void f32OursPassesTheBf16ModeDefaults() throws IOException {
        GoldenSet set = GoldenSet.read(golden);
        VerifyResult r = Verifier.verify(set, "bf16", otherMode(set, "f32"), "golden f32",
                Thresholds.defaults(Thresholds.Family.LOSSLESS, "bf16"), s -> {});
        assertThat(r.passed()).as(Report.terminal(r)).isTrue();
        assertThat(r.overall().klMean()).isBetween(1e-4, 2e-3);
    }

    @Test
    void goldenAgainstItselfIsExact(@TempDir Path tmp) throws IOException {
        GoldenSet set = GoldenSet.read(golden);
        VerifyResult r = Verifier.verify(set, "f32", otherMode(set, "f32"), "golden f32",
                Thresholds.defaults(Thresholds.Family.LOSSLESS, "f32"), s -> {});
        assertThat(r.passed()).isTrue();
        assertThat(r.overall().maxAbsDiff()).isZero();
        assertThat(r.overall().klMax()).isZero();
        Report.writeReportDir(r, tmp.resolve("rep")); // all-zero KL still renders
        assertThat(javax.imageio.ImageIO.read(tmp.resolve("rep").resolve(Report.KL_PNG).toFile())).isNotNull();
    }
}
