package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code grok quant-eval} on the committed 12-layer heavy fixture (few prompts, to stay fast). */
class QuantEvalCommandTest {
    @TempDir
    Path tmp;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    static final Path FIXTURE = Path.of(System.getProperty("grok.root", ".")).resolve("golden-tests/fixtures/tiny-12l");

    private int run(String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void tableComparesQ4nlWithTheQ4_0BaselineAtFewerBits() throws IOException {
        int code = run("quant-eval", FIXTURE.toString(), "--variants", "q4_0,q4nl,q4nl+imatrix", "--prompts", "4", "--length", "64",
                "--threads", "2", "--work", tmp.resolve("work").toString(), "--out", tmp.toString());
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("| q4_0 | q4_0 |", "| q4nl | q4nl |", "| q4nl+imatrix | q4nl |", "seed 1235");
        assertThat(tmp.resolve("quant-eval.md")).exists();
        JsonNode j = new ObjectMapper().readTree(tmp.resolve("quant-eval.json").toFile());
        assertThat(j.get("schema_version").asInt()).isEqualTo(2);
        JsonNode q40 = j.get("variants").get(0), nl = j.get("variants").get(1);
        assertThat(q40.get("experts").asText()).isEqualTo("q4_0");
        assertThat(q40.get("metrics").get("positions").asInt()).isEqualTo(256);
        // Q4_0: exactly 4.5 bits per weight (emb 96 and ffn 512 are multiples of 32);
        // q4nl: 4.25 + 16-bit channel scales per input (16/512 for linear/linear_v, 16/96 for linear_1) = 4.327.
        assertThat(q40.get("bits_per_weight").asDouble()).isCloseTo(4.5, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(nl.get("bits_per_weight").asDouble()).isBetween(4.32, 4.335);
        assertThat(q40.get("kl_ratio").asDouble()).isEqualTo(1.0);
        // 256 positions is a small sample; the full table (2048 positions) gives 0.50. Issue 6 asks for a
        // same-top-1 rate at least as high as Q4_0's (here 0.949 each; 0.963 vs 0.950 on the full table).
        assertThat(nl.get("kl_ratio").asDouble()).isLessThan(0.85);
        assertThat(nl.get("metrics").get("same_top1_rate").asDouble()).isGreaterThanOrEqualTo(q40.get("metrics").get("same_top1_rate").asDouble());
        // q4nl with an importance matrix (calibrated on other random tokens): same size, and also well below Q4_0
        // (whether it beats plain q4nl is within this fixture's noise, docs/benchmarks/int4.md).
        JsonNode im = j.get("variants").get(2);
        assertThat(im.get("experts").asText()).isEqualTo("q4nl+imatrix");
        assertThat(im.get("bits_per_weight").asDouble()).isEqualTo(nl.get("bits_per_weight").asDouble());
        assertThat(im.get("kl_ratio").asDouble()).isLessThan(0.85);
        assertThat(j.get("imatrix_calibration").asText()).contains("seed 1235");
    }

    @Test
    void refusesUnknownVariantsAndMissingDirectories() {
        assertThat(run("quant-eval", FIXTURE.toString(), "--variants", "q3", "--out", tmp.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("--variants", "q3");
        assertThat(run("quant-eval", FIXTURE.toString(), "--variants", "q4_0+imatrix", "--out", tmp.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("q4_0+imatrix");
        assertThat(run("quant-eval", tmp.resolve("nope").toString(), "--out", tmp.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("no such directory");
    }
}
