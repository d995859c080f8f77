package grokkit.verify;

import grokkit.errors.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class VerifierTest {
    @TempDir
    Path tmp;

    /** Ours = golden f32 logits, looked up by tokens, optionally perturbed. */
    private static LogitSource exact(TinyGolden g) {
        return tokens -> {
            for (int k = 0; k < g.tokens.size(); k++) {
                if (java.util.Arrays.equals(g.tokens.get(k), tokens)) return g.f32.get(k);
            }
            throw new IllegalArgumentException("unknown prompt");
        };
    }

    @Test
    void exactLogitsPassTheTightestThresholds() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 64, 5, 1, 6, 9);
        VerifyResult r = Verifier.verify(GoldenSet.read(g.dir), "f32", exact(g), "exact",
                Thresholds.defaults(Thresholds.Family.LOSSLESS, "f32"), s -> {});
        assertThat(r.passed()).isTrue();
        assertThat(r.overall().positions()).isEqualTo(16);
        assertThat(r.overall().klMax()).isZero();
        assertThat(r.overall().pplRatio()).isEqualTo(1.0);
        assertThat(r.prompts()).extracting(VerifyResult.PromptResult::k).containsExactly(0, 1, 2);
    }

    @Test
    void aSmallLogitErrorFailsLosslessButPassesInt4() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 64, 6, 4, 4);
        LogitSource off = tokens -> {
            float[][] x = exact(g).logits(tokens);
            float[][] y = new float[x.length][];
            for (int t = 0; t < x.length; t++) {
                y[t] = x[t].clone();
                y[t][3] += 0.01f; // 5x the lossless max-|Δ| bound; tiny KL
            }
            return y;
        };
        GoldenSet set = GoldenSet.read(g.dir);
        VerifyResult lossless = Verifier.verify(set, "f32", off, "off", Thresholds.defaults(Thresholds.Family.LOSSLESS, "f32"), s -> {});
        assertThat(lossless.passed()).isFalse();
        assertThat(lossless.failures()).extracting(Thresholds.Check::metric).containsExactly("max_abs_diff");
        assertThat(lossless.overall().maxAbsDiff()).isCloseTo(0.01, within(1e-5));
        VerifyResult int4 = Verifier.verify(set, "f32", off, "off", Thresholds.defaults(Thresholds.Family.INT4, "f32"), s -> {});
        assertThat(int4.passed()).isTrue();
    }

    @Test
    void brokenLogitsFailTheInt4Bounds() throws IOException {
        // "broken int4": logits unrelated to the golden ones (what swapped nibbles or wrong scales produce)
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 256, 7, 8, 8);
        TinyGolden noise = TinyGolden.write(tmp.resolve("noise"), 256, 99, 8, 8);
        LogitSource broken = tokens -> noise.f32.get(tokens.length == 8 && java.util.Arrays.equals(tokens, g.tokens.get(0)) ? 0 : 1);
        VerifyResult r = Verifier.verify(GoldenSet.read(g.dir), "f32", broken, "broken",
                Thresholds.defaults(Thresholds.Family.INT4, "f32"), s -> {});
        assertThat(r.passed()).isFalse();
        assertThat(r.overall().klMean()).isGreaterThan(1);
        assertThat(r.failures()).extracting(Thresholds.Check::metric).contains("same_top1_rate", "kl_mean");
    }

    @Test
    void wronglyShapedLogitsAreBadInput() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 16, 8, 3);
        GoldenSet set = GoldenSet.read(g.dir);
        Thresholds th = Thresholds.defaults(Thresholds.Family.LOSSLESS, "f32");
        assertThatThrownBy(() -> Verifier.verify(set, "f32", t -> new float[2][16], "short", th, s -> {}))
                .isInstanceOf(BadInputException.class).hasMessageContaining("short").hasMessageContaining("3 rows");
        assertThatThrownBy(() -> Verifier.verify(set, "f32", t -> new float[3][15], "narrow", th, s -> {}))
                .isInstanceOf(BadInputException.class).hasMessageContaining("vocab 16");
    }

    @Test
    void jsonRoundTripsIncludingUndefinedValues() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 32, 9, 1, 5);
        LogitSource ours = tokens -> TinyGolden.bf16(exact(g).logits(tokens));
        VerifyResult r = Verifier.verify(GoldenSet.read(g.dir), "f32", ours, "bf16-rounded",
                Thresholds.defaults(Thresholds.Family.LOSSLESS, "bf16"), s -> {});
        Path json = tmp.resolve("out/r.json");
        Report.writeJson(r, json);
        String text = Files.readString(json);
        assertThat(text).doesNotContain("NaN").contains("\"ppl_ratio\" : null"); // snake_case since the cli merge
        VerifyResult back = VerifyResult.readJson(json);
        assertThat(back.passed()).isEqualTo(r.passed());
        assertThat(back.overall()).isEqualTo(r.overall());
        assertThat(back.thresholds()).isEqualTo(r.thresholds());
        assertThat(back.checks()).isEqualTo(r.checks());
        assertThat(back.prompts().get(0).summary().pplRatio()).isNaN();
        assertThat(back.prompts().get(1).klPerPosition()).containsExactly(r.prompts().get(1).klPerPosition());
        assertThat(back.prompts().get(1).summary()).isEqualTo(r.prompts().get(1).summary());
    }

    @Test
    void reportDirHasMarkdownAndADecodablePlot() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 32, 10, 1, 4, 12);
        List<String> progress = new ArrayList<>();
        VerifyResult r = Verifier.verify(GoldenSet.read(g.dir), "f32", tokens -> TinyGolden.bf16(exact(g).logits(tokens)),
                "bf16-rounded", Thresholds.defaults(Thresholds.Family.INT4, "f32"), progress::add);
        assertThat(progress).hasSize(3);
        Path dir = tmp.resolve("report");
        Report.writeReportDir(r, dir);
        BufferedImage img = ImageIO.read(dir.resolve(Report.KL_PNG).toFile());
        assertThat(img).isNotNull();
        assertThat(img.getWidth()).isEqualTo(KlPlot.WIDTH);
        assertThat(img.getHeight()).isEqualTo(KlPlot.HEIGHT);
        // something other than white background was drawn inside the plot area
        int colored = 0;
        for (int x = 100; x < KlPlot.WIDTH - 40; x += 3) {
            for (int y = 60; y < KlPlot.HEIGHT - 80; y += 3) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                int red = rgb >> 16, green = (rgb >> 8) & 0xff, blue = rgb & 0xff;
                if (Math.abs(red - blue) > 40 || Math.abs(green - blue) > 40) colored++;
            }
        }
        assertThat(colored).as("data pixels").isGreaterThan(20);
        // the bounds on statistics are stated under the title, not drawn across the points
        int changed = 0;
        for (VerifyResult.PromptResult p : r.prompts()) changed += p.top1Mismatches().length;
        assertThat(KlPlot.statistics(r)).contains("mean KL " + Report.num(r.overall().klMean()) + " (bound " + Report.num(r.thresholds().maxMeanKl()) + ")",
                "99% KL " + Report.num(r.overall().klP99()) + " (bound " + Report.num(r.thresholds().maxP99Kl()) + ")",
                "top-1 changed at " + changed + " of " + r.overall().positions() + " positions");
        String md = Files.readString(dir.resolve(Report.MARKDOWN));
        assertThat(md).startsWith("# grok verify: PASS").contains("| k=2 | 12 |").contains("| all | 17 |")
                .contains("](" + Report.KL_PNG + ")").contains("Mean    KLD");
        assertThat(VerifyResult.readJson(dir.resolve(Report.JSON)).overall()).isEqualTo(r.overall());
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    Report.KL_PNG, Report.MARKDOWN, Report.JSON);
        }
        String term = Report.terminal(r);
        assertThat(term).contains("k=0").contains("all").contains("PASS").contains("Same top p");
    }

    @Test
    void logitsDirSourceReadsFilesNamedLikeTheGoldenOnes() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 16, 11, 2, 3);
        GoldenSet set = GoldenSet.read(g.dir);
        Path ours = Files.createDirectories(tmp.resolve("ours"));
        grokkit.io.Npy.write(ours.resolve("p0.f32.npy"), g.f32.get(0));
        LogitsDirSource src = new LogitsDirSource(set, ours, "f32");
        assertThat(src.logits(g.tokens.get(0))).isDeepEqualTo(g.f32.get(0));
        assertThatThrownBy(() -> src.logits(g.tokens.get(1))).isInstanceOf(BadInputException.class)
                .hasMessageContaining(ours.resolve("p1.f32.npy").toString()).hasMessageContaining("missing");
        grokkit.io.Npy.write(ours.resolve("p1.f32.npy"), g.f32.get(0)); // [2, 16] where [3, 16] is expected
        assertThatThrownBy(() -> src.logits(g.tokens.get(1))).isInstanceOf(BadInputException.class)
                .hasMessageContaining("p1.f32.npy").hasMessageContaining("shape mismatch");
    }
}
