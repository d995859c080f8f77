package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.verify.GoldenSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code grok golden create}: round trip through {@code grok verify --max-abs-diff 0}, and bad input. */
class GoldenCreateCommandTest {
    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void convertFixture() {
        model = LogitsCommandTest.convert(LogitsCommandTest.fixture("tiny-12l"), tmp.resolve("model"));
    }

    private static int run(StringWriter err, String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    @Test
    void aModelsOwnGoldenVerifiesWithZeroDifferenceAtAnyThreadCount() throws Exception {
        Path prompts = tmp.resolve("prompts.txt");
        Files.writeString(prompts, "5,17,99,3\n\n1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n 300, 301 302 \n");
        Path golden = tmp.resolve("golden-tokens");
        StringWriter err = new StringWriter();
        assertThat(run(err, "golden", "create", model.toString(), "--tokens", prompts.toString(), "--out", golden.toString(), "--threads", "2"))
                .as(err.toString()).isZero();
        GoldenSet g = GoldenSet.read(golden);
        assertThat(g.prompts()).hasSize(3);
        assertThat(g.prompts().get(2).tokens()).containsExactly(300, 301, 302);
        assertThat(g.vocabSize()).isEqualTo(512);
        JsonNode json = new ObjectMapper().readTree(golden.resolve("golden.json").toFile());
        assertThat(json.path("generator").path("grok_kit_version").asText()).isEqualTo(GrokCli.VERSION);
        assertThat(json.path("generator").path("model_manifest_sha256").asText())
                .isEqualTo(GoldenCreateCommand.sha256(model.resolve("manifest.json"))).hasSize(64);
        for (String threads : new String[] {"1", "3"}) {
            err = new StringWriter();
            assertThat(run(err, "verify", model.toString(), "--golden", golden.toString(), "--max-abs-diff", "0", "--threads", threads, "--quiet"))
                    .as("verify at %s threads: %s", threads, err).isZero();
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp-"));
        }
    }

    @Test
    void textCutIntoChunksRoundTripsToo() throws Exception {
        Path text = tmp.resolve("text.txt");
        Files.writeString(text, "The quick brown fox jumps over the lazy dog. ".repeat(6));
        Path golden = tmp.resolve("golden-text");
        Path tokenizer = LogitsCommandTest.fixture("tokenizer").resolve("tiny.model");
        StringWriter err = new StringWriter();
        assertThat(run(err, "golden", "create", model.toString(), "--text", text.toString(), "--tokenizer", tokenizer.toString(),
                "--chunk", "20", "--out", golden.toString())).as(err.toString()).isZero();
        GoldenSet g = GoldenSet.read(golden);
        assertThat(g.prompts().size()).isGreaterThan(1);
        for (int k = 0; k + 1 < g.prompts().size(); k++) assertThat(g.prompts().get(k).length()).isEqualTo(20);
        err = new StringWriter();
        assertThat(run(err, "verify", model.toString(), "--golden", golden.toString(), "--max-abs-diff", "0", "--quiet")).as(err.toString()).isZero();
    }

    @Test
    void badInputExitsWithTwoAndWritesNothing() throws Exception {
        Path out = tmp.resolve("bad-golden");
        Path empty = tmp.resolve("empty.txt"), range = tmp.resolve("range.txt"), junk = tmp.resolve("junk.txt"), text = tmp.resolve("t.txt");
        Files.writeString(empty, "\n\n");
        Files.writeString(range, "1,2,3\n4,512\n");
        Files.writeString(junk, "1,2,x\n");
        Files.writeString(text, "hello");
        Object[][] cases = {
                {new String[] {"--tokens", range.toString()}, "id 512 is out of range [0, 512)"},
                {new String[] {"--tokens", empty.toString()}, "no prompts"},
                {new String[] {"--tokens", junk.toString()}, "'x' is not a token id"},
                {new String[] {"--tokens", tmp.resolve("nope.txt").toString()}, "no such file"},
                {new String[] {"--text", text.toString()}, "--text needs --tokenizer"},
                {new String[] {"--text", text.toString(), "--tokenizer", tmp.resolve("nope.model").toString()}, "no such file"},
                {new String[] {"--text", text.toString(), "--tokenizer", LogitsCommandTest.fixture("tokenizer").resolve("tok-bpe.model").toString()}, "pieces"},
                {new String[] {"--tokens", range.toString(), "--chunk", "5"}, "go with --text"},
        };
        for (Object[] c : cases) {
            String[] opts = (String[]) c[0];
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("golden", "create", model.toString(), "--out", out.toString()));
            args.addAll(java.util.List.of(opts));
            StringWriter err = new StringWriter();
            assertThat(run(err, args.toArray(String[]::new))).as(String.join(" ", opts) + ": " + err).isEqualTo(2);
            assertThat(err.toString()).as(String.join(" ", opts)).contains((String) c[1]);
            assertThat(out).doesNotExist();
        }
        Files.createDirectories(out);
        StringWriter err = new StringWriter();
        Path ok = tmp.resolve("ok.txt");
        Files.writeString(ok, "1,2,3\n");
        assertThat(run(err, "golden", "create", model.toString(), "--tokens", ok.toString(), "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("already exists");
    }
}
