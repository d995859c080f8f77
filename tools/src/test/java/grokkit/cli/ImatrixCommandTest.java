package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.errors.ExitCodes;
import grokkit.quant.Imatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code grok imatrix} and {@code grok convert --imatrix} on the committed 12-layer fixture. */
class ImatrixCommandTest {
    @TempDir
    Path tmp;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    static final Path ROOT = Path.of(System.getProperty("grok.root", "."));
    static final Path FIXTURE = ROOT.resolve("golden-tests/fixtures/tiny-12l");
    static final Path OTHER = ROOT.resolve("golden-tests/fixtures/tiny-np2-p5");
    static final Path TOKENIZER = ROOT.resolve("golden-tests/fixtures/tokenizer/tiny.model");

    private int run(String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    private int convert(Path fixture, Path outDir, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("convert", fixture.resolve("ckpt-0").toString(), outDir.toString(),
                "--model-config", fixture.resolve("config.json").toString()));
        a.addAll(List.of(extra));
        if (!a.contains("--threads")) a.addAll(List.of("--threads", "2"));
        return run(a.toArray(String[]::new));
    }

    private static byte[] shardBytes(Path model) throws IOException {
        try (Stream<Path> s = Files.list(model)) {
            List<Path> shards = s.filter(p -> p.getFileName().toString().endsWith(".bin")).sorted().toList();
            assertThat(shards).isNotEmpty();
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            for (Path p : shards) b.write(Files.readAllBytes(p));
            return b.toByteArray();
        }
    }

    @Test
    void collectsThenWeightsTheConversionDeterministically() throws IOException {
        Path int8 = tmp.resolve("int8");
        assertThat(convert(FIXTURE, int8)).as(err.toString()).isZero();
        // Two calibration sequences in a JSON file (not the golden prompts).
        Path tokens = tmp.resolve("calib.json");
        Files.writeString(tokens, "[[1, 40, 41, 300, 301, 7, 99, 250, 17, 18], [1, 500, 12, 13, 14, 15, 200, 201]]");
        Path im = tmp.resolve("cal.imatrix.json");
        assertThat(run("imatrix", int8.toString(), "--tokens", tokens.toString(), "--out", im.toString(), "--threads", "2"))
                .as(err.toString()).isZero();
        assertThat(out.toString()).contains("18 calibration tokens");
        Imatrix m = Imatrix.read(im);
        long routed = 0;
        for (int l = 0; l < 12; l++) for (int e = 0; e < 8; e++) routed += m.tokens(l, e);
        assertThat(routed).isEqualTo(12L * 2 * 18); // 2 selected experts per token and layer
        assertThat(m.calibration()).contains("calib.json");

        Path a = tmp.resolve("a"), b = tmp.resolve("b"), plain = tmp.resolve("plain");
        assertThat(convert(FIXTURE, a, "--experts", "int4", "--imatrix", im.toString())).as(err.toString()).isZero();
        assertThat(convert(FIXTURE, b, "--experts", "int4", "--imatrix", im.toString(), "--threads", "1")).as(err.toString()).isZero();
        assertThat(convert(FIXTURE, plain, "--experts", "int4")).as(err.toString()).isZero();
        assertThat(shardBytes(a)).isEqualTo(shardBytes(b)).isNotEqualTo(shardBytes(plain));
        JsonNode conv = new ObjectMapper().readTree(a.resolve("manifest.json").toFile()).get("conversion");
        assertThat(conv.get("imatrix").get("file").asText()).isEqualTo("cal.imatrix.json");
        assertThat(conv.get("imatrix").get("sha256").asText()).isEqualTo(m.sha256());
        assertThat(new ObjectMapper().readTree(plain.resolve("manifest.json").toFile()).get("conversion").has("imatrix")).isFalse();
        JsonNode report = new ObjectMapper().readTree(a.resolve("conversion-report.json").toFile());
        assertThat(report.get("imatrix").get("sha256").asText()).isEqualTo(m.sha256());
        assertThat(new ObjectMapper().readTree(plain.resolve("conversion-report.json").toFile()).has("imatrix")).isFalse();
        assertThat(out.toString()).contains("weighted by importance matrix cal.imatrix.json");
        assertThat(run("check", a.toString())).as(err.toString()).isZero();

        // Text calibration through the fixture's tokenizer.
        Path text = tmp.resolve("calib.txt");
        Files.writeString(text, "The quick brown fox jumps over the lazy dog. Calibration text is ordinary prose.\n");
        Path im2 = tmp.resolve("text.imatrix.json");
        assertThat(run("imatrix", int8.toString(), "--text", text.toString(), "--tokenizer", TOKENIZER.toString(), "--out", im2.toString()))
                .as(err.toString()).isZero();
        assertThat(Imatrix.read(im2).calibration()).contains("calib.txt", "tiny.model");
    }

    @Test
    void badInputExitsTwoNamingTheFile() throws IOException {
        Path int8 = tmp.resolve("int8");
        assertThat(convert(FIXTURE, int8)).as(err.toString()).isZero();
        Path im = tmp.resolve("cal.imatrix.json");
        assertThat(run("imatrix", int8.toString(), "--tokens", "1,5,9,44,300", "--out", im.toString())).as(err.toString()).isZero();

        Path missing = tmp.resolve("missing.json");
        assertThat(convert(FIXTURE, tmp.resolve("x"), "--experts", "int4", "--imatrix", missing.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains(missing.toString());
        // Collected on another model shape.
        assertThat(convert(OTHER, tmp.resolve("y"), "--experts", "int4", "--imatrix", im.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains(im.toString(), "the model has");
        // int8 experts take no importance matrix.
        assertThat(convert(FIXTURE, tmp.resolve("z"), "--imatrix", im.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("--imatrix", "q4nl");
        // Token ids outside the vocabulary (512), unreadable lists, no input at all.
        assertThat(run("imatrix", int8.toString(), "--tokens", "1,512", "--out", tmp.resolve("q.json").toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("512");
        assertThat(run("imatrix", int8.toString(), "--tokens", tmp.resolve("nope.txt").toString(), "--out", tmp.resolve("q.json").toString()))
                .isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("nope.txt");
        assertThat(run("imatrix", int8.toString(), "--out", tmp.resolve("q.json").toString())).isNotZero();
        assertThat(run("imatrix", int8.toString(), "--text", tmp.resolve("none.txt").toString(), "--tokenizer", TOKENIZER.toString(),
                "--out", tmp.resolve("q.json").toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("none.txt");
        // A tokenizer whose vocabulary is not the model's.
        Files.writeString(tmp.resolve("t.txt"), "some text");
        Path bpe = ROOT.resolve("golden-tests/fixtures/tokenizer/tok-bpe.model");
        assertThat(run("imatrix", int8.toString(), "--text", tmp.resolve("t.txt").toString(), "--tokenizer", bpe.toString(),
                "--out", tmp.resolve("q.json").toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("tok-bpe.model", "pieces");
        assertThat(tmp.resolve("q.json")).doesNotExist();
    }
}
