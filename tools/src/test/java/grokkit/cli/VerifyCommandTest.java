package grokkit.cli;

import grokkit.io.Npy;
import grokkit.model.ModelConfig;
import grokkit.verify.KlPlot;
import grokkit.verify.Report;
import grokkit.verify.Thresholds;
import grokkit.verify.VerifyResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class VerifyCommandTest {
    @TempDir
    Path tmp;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    private final VerifyCommand.ModelOpener originalOpener = VerifyCommand.modelOpener;

    @AfterEach
    void restoreHook() {
        VerifyCommand.modelOpener = originalOpener;
    }

    private int run(String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    /** A golden dir with two prompts (lengths 1 and 5), vocab 40, modes f32 and bf16; returns the f32 logits. */
    private float[][][] golden(Path dir) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(42);
        int[][] toks = {{3}, {1, 7, 22, 39, 0}};
        float[][][] logits = new float[2][][];
        StringBuilder ps = new StringBuilder();
        for (int k = 0; k < 2; k++) {
            logits[k] = new float[toks[k].length][40];
            for (float[] row : logits[k]) for (int i = 0; i < 40; i++) row[i] = (float) (3 * r.nextGaussian());
            Npy.write(dir.resolve("p" + k + ".f32.npy"), logits[k]);
            Npy.write(dir.resolve("p" + k + ".bf16.npy"), logits[k]);
            ps.append(k == 0 ? "" : ",").append("{\"k\":").append(k).append(",\"tokens\":")
                    .append(java.util.Arrays.toString(toks[k])).append(",\"files\":{\"f32\":\"p").append(k)
                    .append(".f32.npy\",\"bf16\":\"p").append(k).append(".bf16.npy\"}}");
        }
        Files.writeString(dir.resolve("golden.json"), "{\"config\":{\"vocab_size\":40},\"prompts\":[" + ps + "]}");
        return logits;
    }

    private Path ours(float[][][] logits, float delta) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ours" + delta));
        for (int k = 0; k < logits.length; k++) {
            float[][] x = new float[logits[k].length][];
            for (int t = 0; t < x.length; t++) {
                x[t] = logits[k][t].clone();
                x[t][5] += delta;
            }
            Npy.write(dir.resolve("p" + k + ".f32.npy"), x);
        }
        return dir;
    }

    @Test
    void identicalLogitsPassWithExitZeroAndWriteJsonAndReport() throws IOException {
        Path g = tmp.resolve("golden");
        Path ours = ours(golden(g), 0f);
        Path json = tmp.resolve("r.json");
        Path rep = tmp.resolve("rep");
        int code = run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(),
                "--json", json.toString(), "--report", rep.toString());
        assertThat(code).as(out + "\n" + err).isZero();
        assertThat(out.toString()).contains("PASS").contains("k=1").contains("all").contains("Mean    KLD");
        assertThat(err.toString()).contains("verify: prompt 0");
        VerifyResult r = VerifyResult.readJson(json);
        assertThat(r.passed()).isTrue();
        assertThat(r.thresholds().profile()).isEqualTo("lossless/f32");
        assertThat(r.overall().positions()).isEqualTo(6);
        BufferedImage img = ImageIO.read(rep.resolve(Report.KL_PNG).toFile());
        assertThat(img.getWidth()).isEqualTo(KlPlot.WIDTH);
        assertThat(img.getHeight()).isEqualTo(KlPlot.HEIGHT);
        assertThat(Files.readString(rep.resolve(Report.MARKDOWN))).startsWith("# grok verify: PASS");
    }

    @Test
    void aThresholdFailureExitsOneAndAFlagCanRelaxIt() throws IOException {
        Path g = tmp.resolve("golden");
        Path ours = ours(golden(g), 0.01f);
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--quiet")).isEqualTo(1);
        assertThat(out.toString()).contains("FAIL max |Δlogit|").contains("FAIL: 1 threshold(s) failed");
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--quiet",
                "--max-abs-diff", "0.02")).isZero();
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--quiet",
                "--max-abs-diff", "off")).isZero();
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--quiet",
                "--encoding", "int4")).isZero();
        // a flag can also tighten: KL bounds of zero fail
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--quiet",
                "--encoding", "int4", "--max-mean-kl", "0")).isEqualTo(1);
    }

    @Test
    void badGoldenDirExitsTwoNamingTheFile() throws IOException {
        Path g = Files.createDirectories(tmp.resolve("not-golden"));
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", tmp.toString())).isEqualTo(2);
        assertThat(err.toString()).contains(g.resolve("golden.json").toString()).contains("missing");
    }

    @Test
    void wronglyShapedOrMissingLogitsExitTwoNamingTheFile() throws IOException {
        Path g = tmp.resolve("golden");
        float[][][] logits = golden(g);
        Path ours = ours(logits, 0f);
        Npy.write(ours.resolve("p1.f32.npy"), new float[5][41]);
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString())).isEqualTo(2);
        assertThat(err.toString()).contains(ours.resolve("p1.f32.npy").toString()).contains("shape mismatch");
        Files.delete(ours.resolve("p1.f32.npy"));
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString())).isEqualTo(2);
        assertThat(err.toString()).contains(ours.resolve("p1.f32.npy").toString()).contains("missing");
    }

    @Test
    void usageErrorsExitTwo() throws IOException {
        Path g = tmp.resolve("golden");
        Path ours = ours(golden(g), 0f);
        assertThat(run("verify", "--golden", g.toString())).isEqualTo(2); // neither model nor logits
        assertThat(run("verify", tmp.toString(), "--golden", g.toString(), "--logits-dir", ours.toString())).isEqualTo(2);
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--mode", "fp8")).isEqualTo(2);
        assertThat(err.toString()).contains("no logits for mode 'fp8'");
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--max-mean-kl", "lots")).isEqualTo(2);
        assertThat(err.toString()).contains("--max-mean-kl");
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--encoding", "int3")).isEqualTo(2);
        assertThat(run("verify")).isEqualTo(2); // --golden is required
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--report", file.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("--report " + file).contains("not a directory");
        assertThat(run("verify", "--golden", g.toString(), "--logits-dir", ours.toString(), "--json=" + tmp)).isEqualTo(2);
        assertThat(err.toString()).contains("--json " + tmp).contains("is a directory");
    }

    @Test
    void modelDirGoesThroughTheRuntimeHook() throws IOException {
        Path g = tmp.resolve("golden");
        float[][][] logits = golden(g);
        Path model = Files.createDirectories(tmp.resolve("model"));
        // an empty directory is not a converted model: bad input naming MODEL_DIR
        assertThat(run("verify", model.toString(), "--golden", g.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("MODEL_DIR");
        assertThat(run("verify", tmp.resolve("nope").toString(), "--golden", g.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("no such directory");

        boolean[] closed = {false};
        VerifyCommand.modelOpener = (dir, options) -> new VerifyCommand.OpenedModel(
                tokens -> logits[tokens.length == 1 ? 0 : 1], Thresholds.Family.INT4, dir.toString(), () -> closed[0] = true,
                null);
        Path json = tmp.resolve("m.json");
        assertThat(run("verify", model.toString(), "--golden", g.toString(), "--json", json.toString())).isZero();
        assertThat(closed[0]).isTrue();
        VerifyResult r = VerifyResult.readJson(json);
        assertThat(r.thresholds().profile()).isEqualTo("int4/f32");
        assertThat(r.source()).contains(model.toString());

        // a model whose configuration contradicts golden.json's is bad input, named, and still closed
        closed[0] = false;
        ModelConfig other = ModelConfig.grok1();
        VerifyCommand.modelOpener = (dir, options) -> new VerifyCommand.OpenedModel(
                tokens -> logits[tokens.length == 1 ? 0 : 1], Thresholds.Family.INT4, dir.toString(), () -> closed[0] = true,
                other);
        assertThat(run("verify", model.toString(), "--golden", g.toString())).isEqualTo(2);
        assertThat(err.toString()).contains(g.resolve("golden.json").toString())
                .contains("vocab_size 40 (golden) vs 131072 (model)");
        assertThat(closed[0]).isTrue();
    }

    @Test
    void publicTinyBf16AgainstF32Golden() throws IOException {
        String root = System.getProperty("grok.root", ".");
        Path golden = Path.of(System.getProperty("grok.shared", root + "/../shared"), "fixtures/public-tiny/golden");
        assumeTrue(Files.isRegularFile(golden.resolve("golden.json")), "shared fixture " + golden + " is absent; skipping");
        Path ours = Files.createDirectories(tmp.resolve("bf16-as-f32"));
        for (int k = 0; k < 3; k++) Files.copy(golden.resolve("p" + k + ".bf16.npy"), ours.resolve("p" + k + ".f32.npy"));
        // bf16 rounding fails the lossless float32 bounds...
        assertThat(run("verify", "--golden", golden.toString(), "--logits-dir", ours.toString(), "--quiet")).isEqualTo(1);
        // ...and passes the int4 bounds
        Path json = tmp.resolve("t.json");
        assertThat(run("verify", "--golden", golden.toString(), "--logits-dir", ours.toString(), "--quiet",
                "--encoding", "int4", "--json", json.toString())).isZero();
        VerifyResult r = VerifyResult.readJson(json);
        assertThat(r.overall().klMean()).isBetween(1e-4, 2e-3);
        assertThat(r.overall().maxAbsDiff()).isBetween(0.05, 0.3);
    }

    @Test
    void convertedPublicTinyPassesTheLosslessDefaultsEndToEnd() throws Exception {
        String root = System.getProperty("grok.root", ".");
        Path fixture = Path.of(System.getProperty("grok.shared", root + "/../shared"), "fixtures/public-tiny");
        assumeTrue(Files.isRegularFile(fixture.resolve("golden/golden.json")), "shared fixture " + fixture + " is absent; skipping");
        Path model = LogitsCommandTest.convert(fixture, tmp.resolve("model"));
        Path json = tmp.resolve("e2e.json");
        Path rep = tmp.resolve("e2e-report");
        int code = run("verify", model.toString(), "--golden", fixture.resolve("golden").toString(), "--threads", "2",
                "--json", json.toString(), "--report", rep.toString());
        assertThat(code).as(out + "\n" + err).isZero();
        VerifyResult r = VerifyResult.readJson(json);
        assertThat(r.thresholds().profile()).isEqualTo("lossless/f32"); // from the manifest's encodings
        assertThat(r.overall().maxAbsDiff()).isLessThanOrEqualTo(2e-3);
        assertThat(r.overall().sameTop1Rate()).isEqualTo(1.0);
        assertThat(rep.resolve(Report.KL_PNG)).exists();
        // the same model against the reference's own bf16 numerics passes the bf16 defaults
        assertThat(run("verify", model.toString(), "--golden", fixture.resolve("golden").toString(), "--threads", "2",
                "--mode", "bf16", "--quiet")).as(out.toString()).isZero();
        assertThat(out.toString()).contains("thresholds (lossless/bf16)");
    }
}
