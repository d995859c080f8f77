package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TokenizeCommandTest {
    static final Path MODEL = Path.of(System.getProperty("grok.root", "..")).resolve("golden-tests/fixtures/tokenizer/tok-bpe.model");

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void printsIdsAndPieces() {
        Result r = run("tokenize", "--tokenizer", MODEL.toString(), "Hello world", "--pieces");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).matches("\\d+( \\d+)*");
        assertThat(lines.get(1)).isEqualTo("[\"▁H\",\"e\",\"ll\",\"o\",\"▁world\"]");
    }

    @Test
    void jsonlAddsIdsAndPiecesToEveryLine(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in.jsonl"), out = dir.resolve("out.jsonl");
        Files.writeString(in, "{\"text\": \"Hello world\", \"id\": 7}\n\n{\"text\": \"\\t3.14 \\ud83d\\ude80\"}\n", StandardCharsets.UTF_8);
        Result r = run("tokenize", "--tokenizer", MODEL.toString(), "--jsonl", in.toString(), out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<JsonNode> rows = Files.readAllLines(out).stream().map(l -> {
            try {
                return new ObjectMapper().readTree(l);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList();
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).get("id").asInt()).isEqualTo(7);
        assertThat(rows.get(0).get("pieces").toString()).isEqualTo("[\"▁H\",\"e\",\"ll\",\"o\",\"▁world\"]");
        assertThat(rows.get(1).get("ids").size()).isEqualTo(rows.get(1).get("pieces").size()).isGreaterThan(4);
    }

    @Test
    void jsonlOnTheRealGrok1GoldenReproducesEveryLine(@TempDir Path dir) throws Exception {
        String shared = System.getProperty("grok.shared", System.getenv("GROK_SHARED"));
        Path grok1 = (shared != null ? Path.of(shared) : Path.of(System.getProperty("grok.root", "..")).resolve("../shared"))
                .resolve("grok1").normalize();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(grok1.resolve("tokenizer-golden.jsonl")),
                "no shared Grok-1 tokenizer golden at " + grok1 + " (set GROK_SHARED); skipping");
        Path out = dir.resolve("out.jsonl");
        Result r = run("tokenize", "--tokenizer", grok1.resolve("tokenizer.model").toString(),
                "--jsonl", grok1.resolve("tokenizer-golden.jsonl").toString(), out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        ObjectMapper json = new ObjectMapper();
        List<String> expected = Files.readAllLines(grok1.resolve("tokenizer-golden.jsonl"));
        List<String> actual = Files.readAllLines(out);
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = json.readTree(expected.get(i)), a = json.readTree(actual.get(i));
            assertThat(a.get("ids")).as("line %d", i + 1).isEqualTo(e.get("ids"));
            assertThat(a.get("pieces")).as("line %d", i + 1).isEqualTo(e.get("pieces"));
        }
    }

    @Test
    void malformedJsonlIsExit2AndLeavesNoOutput(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in.jsonl"), out = dir.resolve("out.jsonl");
        Files.writeString(in, "{\"text\": \"ok\"}\n{\"nottext\": 1}\n");
        Result r = run("tokenize", "--tokenizer", MODEL.toString(), "--jsonl", in.toString(), out.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(in.toString()).contains("line 2");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("in.jsonl");
        }
    }

    @Test
    void missingTokenizerIsExit2NamingTheFile(@TempDir Path dir) {
        Path missing = dir.resolve("missing.model");
        Result r = run("tokenize", "--tokenizer", missing.toString(), "hi");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(missing.toString()).contains("no such file");
    }

    @Test
    void malformedTokenizerIsExit2NamingTheFile(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.model");
        Files.write(bad, new byte[] {0x0a, 0x7f, 0x01});
        Result r = run("tokenize", "--tokenizer", bad.toString(), "hi");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(bad.toString()).contains("not a valid SentencePiece model");
    }

    @Test
    void benchReportsThroughput(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "Hello world, 世界 123\n".repeat(200));
        Result r = run("tokenize", "--tokenizer", MODEL.toString(), "--bench", text.toString(), "--repeat", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("java whole-text:").contains("java line-by-line:").contains("MB/s cpu");
    }
}
