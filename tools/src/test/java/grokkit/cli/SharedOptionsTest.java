package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shared options (ThreadsOption, TokenizerOption, ModelConfigOption, JsonOutputOption) give
 * every command the same check and the same message, exit 2, before any work starts; and the
 * commands recognise the wrong kind of directory, mistyped options, and a config.json beside ckpt-0.
 */
class SharedOptionsTest {
    static final Path FIXTURES = RunCommandTest.FIXTURES;
    static final Path EXAMPLE = FIXTURES.resolve("tiny-12l");
    static final Path CKPT = EXAMPLE.resolve("ckpt-0");
    static final Path CONFIG = EXAMPLE.resolve("config.json");
    static final Path GOLDEN = EXAMPLE.resolve("golden");

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void convert() {
        model = dir.resolve("model");
        TokenizeCommandTest.Result r = run("convert", CKPT.toString(), model.toString(), "--model-config", CONFIG.toString(),
                "--tokenizer", RunCommandTest.TOKENIZER.toString(), "--threads", "1", "--quiet");
        assertThat(r.code()).as(r.err()).isZero();
    }

    static TokenizeCommandTest.Result run(String... args) {
        return TokenizeCommandTest.run(args);
    }

    /** Every command that takes --threads, with its other arguments valid. */
    static List<List<String>> threadCommands(Path tmp) {
        String m = model.toString();
        return List.of(
                List.of("convert", CKPT.toString(), tmp.resolve("out").toString(), "--model-config", CONFIG.toString()),
                List.of("verify", m, "--golden", GOLDEN.toString()),
                List.of("run", m, "--prompt", "hi"),
                List.of("logits", m, "--tokens", "5,17", "--out", tmp.resolve("l.npy").toString()),
                List.of("imatrix", m, "--tokens", "5,17", "--out", tmp.resolve("im.json").toString()),
                List.of("quant-eval", EXAMPLE.toString(), "--out", tmp.toString()),
                List.of("golden", "create", m, "--tokens", tmp.resolve("p.txt").toString(), "--out", tmp.resolve("golden").toString()),
                List.of("export", CKPT.toString(), tmp.resolve("out.gguf").toString(), "--model-config", CONFIG.toString()),
                List.of("export", m, tmp.resolve("out.gguf").toString()),
                List.of("bench", "decode", "--shape", "mini"),
                List.of("bench", "prefill", "--shape", "mini"),
                List.of("bench", "kernels", "--shapes", "64x64"));
    }

    @Test
    void badThreadCountIsExit2WithTheSameMessageInEveryCommand(@TempDir Path tmp) {
        int max = ThreadsOption.max();
        for (String bad : new String[]{"0", "-3", Integer.toString(max + 1), "100000"}) {
            String expected = ThreadsOption.problem(Integer.parseInt(bad));
            for (List<String> cmd : threadCommands(tmp)) {
                List<String> args = new ArrayList<>(cmd);
                args.addAll(List.of("--threads", bad));
                TokenizeCommandTest.Result r = run(args.toArray(String[]::new));
                assertThat(r.code()).as(cmd.getFirst() + " --threads " + bad + ": " + r.err()).isEqualTo(2);
                assertThat(r.err()).as(String.join(" ", cmd)).contains("error: " + expected).doesNotContain("internal error").doesNotContain("\tat ");
            }
        }
        assertThat(ThreadsOption.problem(1)).isNull();
        assertThat(ThreadsOption.problem(max)).isNull();
        assertThat(max).isBetween(16, 1024);
        assertThat(Files.exists(tmp.resolve("out"))).as("nothing converted").isFalse();
        assertThat(Files.exists(tmp.resolve("out.gguf"))).as("nothing exported").isFalse();
        assertThat(Files.exists(tmp.resolve("golden"))).as("no golden set").isFalse();
    }

    @Test
    void missingTokenizerIsExit2WithTheSameMessageInEveryCommand(@TempDir Path tmp) {
        Path missing = tmp.resolve("none.model");
        String expected = "error: --tokenizer " + missing + ": no such file";
        List<List<String>> cmds = List.of(
                List.of("convert", CKPT.toString(), tmp.resolve("out").toString(), "--model-config", CONFIG.toString()),
                List.of("run", model.toString(), "--prompt", "hi"),
                List.of("imatrix", model.toString(), "--text", CONFIG.toString(), "--out", tmp.resolve("im.json").toString()),
                List.of("golden", "create", model.toString(), "--text", CONFIG.toString(), "--out", tmp.resolve("golden").toString()),
                List.of("export", model.toString(), tmp.resolve("out.gguf").toString()),
                List.of("tokenize", "hi"));
        for (List<String> cmd : cmds) {
            List<String> args = new ArrayList<>(cmd);
            args.addAll(List.of("--tokenizer", missing.toString()));
            TokenizeCommandTest.Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).as(cmd + r.err()).isEqualTo(2);
            assertThat(r.err()).as(cmd.getFirst()).contains(expected);
        }
    }

    @Test
    void missingModelConfigIsExit2WithTheSameMessageInEveryCommand(@TempDir Path tmp) {
        Path missing = tmp.resolve("none.json");
        String expected = "error: --model-config " + missing + ": no such file";
        for (List<String> cmd : List.of(List.of("convert", CKPT.toString(), tmp.resolve("out").toString()),
                List.of("inspect", CKPT.toString()), List.of("export", CKPT.toString(), tmp.resolve("out.gguf").toString()),
                List.of("quant-eval", EXAMPLE.toString(), "--out", tmp.toString()))) {
            List<String> args = new ArrayList<>(cmd);
            args.addAll(List.of("--model-config", missing.toString()));
            TokenizeCommandTest.Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).as(cmd + r.err()).isEqualTo(2);
            assertThat(r.err()).as(cmd.getFirst()).contains(expected);
        }
    }

    @Test
    void jsonIntoADirectoryIsExit2WithTheSameMessageInEveryCommand(@TempDir Path tmp) {
        String expected = "error: --json " + tmp + ": is a directory, expected a file name or - (stdout)";
        for (List<String> cmd : List.of(List.of("inspect", CKPT.toString()), List.of("verify", model.toString(), "--golden", GOLDEN.toString()))) {
            List<String> args = new ArrayList<>(cmd);
            args.add("--json=" + tmp);
            TokenizeCommandTest.Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).as(cmd + r.err()).isEqualTo(2);
            assertThat(r.err()).as(cmd.getFirst()).contains(expected);
        }
    }

    @Test
    void verifyJsonDashWritesOneJsonDocumentToStdout() throws Exception {
        TokenizeCommandTest.Result r = run("verify", model.toString(), "--golden", GOLDEN.toString(), "--json", "-", "--quiet", "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(r.out());
        assertThat(doc.get("schema_version").asInt()).isEqualTo(grokkit.verify.VerifyResult.SCHEMA_VERSION);
        assertThat(doc.get("source").get("kind").asText()).isEqualTo("model");
        assertThat(doc.get("source").get("path").asText()).isEqualTo(model.toString());
        assertThat(doc.get("overall").has("kl_mean")).isTrue();
        assertThat(doc.get("overall").has("delta_p_mean")).as("Δp fields named delta_p_*").isTrue();
        for (JsonNode c : doc.get("checks")) assertThat(doc.get("overall").has(c.get("metric").asText())).as("check metric names an overall field: " + c).isTrue();
        assertThat(doc.get("run").get("encodings").toString()).contains("int8");
        assertThat(doc.get("run").get("grok_kit").asText()).startsWith("grok-kit ");
        assertThat(r.err()).contains("PASS");
        assertThat(Files.exists(Path.of("-"))).as("no file named -").isFalse();
        // inspect: --json alone and --json - are stdout; the directory after --json is CKPT_DIR
        TokenizeCommandTest.Result a = run("inspect", "--json", CKPT.toString());
        TokenizeCommandTest.Result b = run("inspect", CKPT.toString(), "--json", "-");
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(a.out()).isEqualTo(b.out());
        assertThat(new ObjectMapper().readTree(a.out()).get("schema_version").asInt()).isEqualTo(InspectCommand.SCHEMA_VERSION);
    }

    @Test
    void mistypedOptionSaysDidYouMeanAndHowToGetHelpNotTheUsage() {
        TokenizeCommandTest.Result r = run("run", model.toString(), "--promt", "hi");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("grok run: error: unknown option '--promt'", "Did you mean: --prompt?", "Run 'grok run --help' for usage.")
                .doesNotContain("Missing required").doesNotContain("Usage:");
        assertThat(r.err().lines().count()).isLessThanOrEqualTo(3);
        r = run("convet", "a", "b");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown command 'convet'", "Did you mean: convert?", "Run 'grok --help' for usage.").doesNotContain("Usage:");
        r = run("verify", model.toString(), "--golden", GOLDEN.toString(), "--max-mean-k", "0.1");
        assertThat(r.err()).contains("Did you mean: --max-mean-kl");
    }

    @Test
    void eachCommandRecognisesTheOtherKindOfDirectory(@TempDir Path tmp) {
        for (String cmd : new String[]{"run", "check", "verify", "logits", "imatrix"}) {
            List<String> args = new ArrayList<>(List.of(cmd, CKPT.toString()));
            switch (cmd) {
                case "run" -> args.addAll(List.of("--prompt", "hi"));
                case "verify" -> args.addAll(List.of("--golden", GOLDEN.toString()));
                case "logits" -> args.addAll(List.of("--tokens", "1,2", "--out", tmp.resolve("l.npy").toString()));
                case "imatrix" -> args.addAll(List.of("--tokens", "1,2", "--out", tmp.resolve("i.json").toString()));
                default -> { }
            }
            TokenizeCommandTest.Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).as(cmd).isEqualTo(2);
            assertThat(r.err()).as(cmd).contains("is an xAI checkpoint (ckpt-0), not a converted model directory", "grok convert " + CKPT)
                    .doesNotContain("--resume");
        }
        for (String cmd : new String[]{"inspect", "convert", "quant-eval"}) {
            List<String> args = new ArrayList<>(List.of(cmd, model.toString()));
            if (cmd.equals("convert")) args.add(tmp.resolve("out").toString());
            TokenizeCommandTest.Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).as(cmd).isEqualTo(2);
            assertThat(r.err()).as(cmd).contains("is a converted model directory (grok convert's output), not an xAI ckpt-0", "grok run");
        }
    }

    @Test
    void configBesideCkpt0IsReadAndNoConfigIsRefusedUnlessInferIsAsked(@TempDir Path tmp) throws Exception {
        Path release = tmp.resolve("release");
        copyTree(CKPT, release.resolve("ckpt-0"));
        // no config anywhere: refused, naming the ways out
        TokenizeCommandTest.Result r = run("inspect", release.resolve("ckpt-0").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("no model configuration, and the shapes are not Grok-1's", "--model-config FILE", "--infer-config");
        r = run("convert", release.resolve("ckpt-0").toString(), tmp.resolve("guessed").toString(), "--quiet");
        assertThat(r.code()).isEqualTo(2);
        assertThat(Files.exists(tmp.resolve("guessed").resolve("manifest.json"))).isFalse();
        // --infer-config: the old inference, with its guesses in the notes
        r = run("inspect", release.resolve("ckpt-0").toString(), "--infer-config");
        assertThat(r.code()).as(r.err()).isZero();
        // config.json beside ckpt-0 (and given as the parent directory): read, key_size is the model's
        int keySize = new ObjectMapper().readTree(CONFIG.toFile()).get("key_size").asInt();
        Files.copy(CONFIG, release.resolve("config.json"));
        for (Path arg : new Path[]{release.resolve("ckpt-0"), release}) {
            r = run("inspect", arg.toString(), "--json");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(new ObjectMapper().readTree(r.out()).get("config").get("key_size").asInt()).isEqualTo(keySize);
            assertThat(r.err()).contains("model configuration: " + release.resolve("config.json"));
        }
        // and convert uses it: the converted model is the same model verify's goldens were made for
        Path out = tmp.resolve("converted");
        r = run("convert", release.toString(), out.toString(), "--quiet", "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        r = run("verify", out.toString(), "--golden", GOLDEN.toString(), "--quiet", "--threads", "1");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
    }

    static void copyTree(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : (Iterable<Path>) s::iterator) Files.copy(p, to.resolve(p.getFileName()));
        }
    }
}
