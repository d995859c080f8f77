package grokkit.cli;

import grokkit.errors.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import grokkit.io.Npy;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.ShardedModel;
import org.junit.jupiter.api.Assumptions;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LogitsCommandTest {
    private static int run(StringWriter err, String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    @Test
    void parsesCommaSeparatedTokenIds() throws Exception {
        assertThat(LogitsCommand.parseTokens("5,17,99")).containsExactly(5, 17, 99);
        assertThat(LogitsCommand.parseTokens(" 5, 17 ,99 ")).containsExactly(5, 17, 99);
        assertThatThrownBy(() -> LogitsCommand.parseTokens("")).isInstanceOf(BadInputException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> LogitsCommand.parseTokens("5,,6")).isInstanceOf(BadInputException.class).hasMessageContaining("item 2");
        assertThatThrownBy(() -> LogitsCommand.parseTokens("5,x")).isInstanceOf(BadInputException.class).hasMessageContaining("'x'");
        assertThatThrownBy(() -> LogitsCommand.parseTokens("-3")).isInstanceOf(BadInputException.class).hasMessageContaining("negative");
    }

    @Test
    void badModelDirectoryOrTokensExitWithTwoAndLeaveNoOutput(@TempDir Path tmp) {
        Path out = tmp.resolve("l.npy");
        StringWriter err = new StringWriter();
        assertThat(run(err, "logits", tmp.resolve("nope").toString(), "--tokens", "1,2", "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("no such directory");
        err = new StringWriter();
        assertThat(run(err, "logits", tmp.toString(), "--tokens", "", "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("--tokens").contains("empty");
        assertThat(out).doesNotExist();
    }

    /** {@code grok convert} of a fixture's ckpt-0 (lossless int8) into {@code out}, through the CLI. */
    static Path convert(Path fixture, Path out) {
        StringWriter err = new StringWriter();
        int code = run(err, "convert", fixture.resolve("ckpt-0").toString(), out.toString(),
                "--model-config", fixture.resolve("config.json").toString(), "--threads", "2");
        assertThat(code).as("grok convert: " + err).isZero();
        return out;
    }

    static Path fixture(String name) {
        return Path.of(System.getProperty("grok.root", ".")).resolve("golden-tests/fixtures").resolve(name);
    }

    @Test
    void writesAllPositionsLogitsOfAConvertedModelAsNpy(@TempDir Path tmp) throws Exception {
        Path model = convert(fixture("tiny-np2-p5"), tmp.resolve("model"));
        Path out = tmp.resolve("l.npy");
        StringWriter err = new StringWriter();
        assertThat(run(err, "logits", model.toString(), "--tokens", "5,17,99,3", "--out", out.toString(), "--threads", "2"))
                .as(err.toString()).isZero();
        Npy.Header h = Npy.readHeader(out);
        assertThat(h.descr()).isEqualTo("<f4");
        assertThat(h.shape()).containsExactly(4, 256);
        float[][] logits = Npy.readMatrix(out);
        // The same forward pass in-process: the command must write exactly what the runtime computes.
        try (ShardedModel m = ShardedModel.open(model); GrokModel g = new GrokModel(m, new RuntimeOptions(1, 0, 128))) {
            float[][] want = g.forward(new int[] {5, 17, 99, 3});
            for (int t = 0; t < 4; t++) for (int i = 0; i < 256; i++) assertThat(logits[t][i]).isCloseTo(want[t][i], within(1e-5f));
        }
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("model", "l.npy"); // no temp file left
        }
    }

    @Test
    void sharedPublicTinyLogitsMatchTheFloat32Golden(@TempDir Path tmp) throws Exception {
        String shared = System.getProperty("grok.shared", System.getProperty("grok.root", ".") + "/../shared");
        Path tiny = Path.of(shared).resolve("fixtures/public-tiny").normalize();
        Assumptions.assumeTrue(Files.isDirectory(tiny.resolve("ckpt-0")), "shared fixture " + tiny + " is absent (set -Dgrok.shared=DIR): skipping");
        Path model = convert(tiny, tmp.resolve("model"));
        Path out = tmp.resolve("p1.npy");
        String tokens = "627,840,17,520,193,786,878"; // public-tiny prompt 1
        assertThat(run(new StringWriter(), "logits", model.toString(), "--tokens", tokens, "--out", out.toString())).isZero();
        float[][] got = Npy.readMatrix(out), golden = Npy.readMatrix(tiny.resolve("golden/p1.f32.npy"));
        assertThat(got.length).isEqualTo(golden.length);
        for (int t = 0; t < got.length; t++) for (int i = 0; i < got[t].length; i++)
            assertThat(got[t][i]).as("position %d token %d", t, i).isCloseTo(golden[t][i], within(2e-3f));
    }

    @Test
    void tokenOutOfRangeOrMissingManifestExitWithTwo(@TempDir Path tmp) throws Exception {
        Path model = convert(fixture("tiny-np2-p5"), tmp.resolve("model"));
        Path out = tmp.resolve("l.npy");
        StringWriter err = new StringWriter();
        assertThat(run(err, "logits", model.toString(), "--tokens", "5,256", "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("token id 256 at index 1").contains("[0, 256)");
        Files.delete(model.resolve("manifest.json"));
        err = new StringWriter();
        assertThat(run(err, "logits", model.toString(), "--tokens", "5", "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("manifest");
        assertThat(out).doesNotExist();
    }

    @Test
    void everyBatchSizeAndThreadCountWritesTheSameBytes(@TempDir Path tmp) throws Exception {
        Path model = convert(fixture("tiny-np2-p5"), tmp.resolve("model"));
        String tokens = "5,17,99,3,8,1,200,45,6,7,9,11,13,17,19,23,29,31,37";
        byte[] ref = null;
        for (String[] opts : new String[][] {{}, {"--batch", "1"}, {"--batch", "7"}, {"--batch", "16"}, {"--batch", "19", "--threads", "3"},
                {"--threads", "1"}, {"--threads", "8", "--batch", "2"}}) {
            Path out = tmp.resolve("l" + String.join("", opts) + ".npy");
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("logits", model.toString(), "--tokens", tokens, "--out", out.toString()));
            args.addAll(java.util.List.of(opts));
            StringWriter err = new StringWriter();
            assertThat(run(err, args.toArray(String[]::new))).as(err.toString()).isZero();
            byte[] got = Files.readAllBytes(out);
            if (ref == null) ref = got;
            else assertThat(got).as("logits with %s", String.join(" ", opts)).isEqualTo(ref);
        }
        StringWriter err = new StringWriter();
        assertThat(run(err, "logits", model.toString(), "--tokens", "5", "--out", tmp.resolve("x.npy").toString(), "--batch", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("--batch");
    }
}
