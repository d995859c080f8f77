package grokkit.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code grok run} on the bundled example checkpoint (tiny-12l), converted by {@code grok convert} with its tokenizer (tiny.model). */
class RunCommandTest {
    static final Path FIXTURES = Path.of(System.getProperty("grok.root", "..")).resolve("golden-tests/fixtures");
    static final Path TOKENIZER = FIXTURES.resolve("tokenizer/tiny.model");

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void convert() throws Exception {
        model = dir.resolve("tiny-12l-int8");
        Path example = FIXTURES.resolve("tiny-12l");
        TokenizeCommandTest.Result r = run("convert", example.resolve("ckpt-0").toString(), model.toString(),
                "--model-config", example.resolve("config.json").toString(), "--tokenizer", TOKENIZER.toString(), "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
    }

    static TokenizeCommandTest.Result run(String... args) {
        return TokenizeCommandTest.run(args);
    }

    @Test
    void sameSeedSameTextOtherSeedOtherText() {
        // Temperature 2: the example model's next-token distributions are peaked (logit std ~3.4,
        // maxima 20-40), so at temperature 1 two seeds often draw the same 12 tokens.
        String[] args = {"run", model.toString(), "--prompt", "The quick brown fox", "--max-tokens", "12",
                "--temperature", "2.0", "--top-p", "1.0", "--threads", "1", "--seed"};
        TokenizeCommandTest.Result a = run(concat(args, "7")), b = run(concat(args, "7")), c = run(concat(args, "8"));
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(a.out()).startsWith("The quick brown fox").isEqualTo(b.out());
        assertThat(c.out()).isNotEqualTo(a.out());
        assertThat(a.err()).containsPattern("prompt: \\d+ tokens in [\\d.]+ s \\([\\d.]+ tokens/s\\); generation: \\d+ tokens")
                .contains("stop: ");
    }

    @Test
    void greedyIsDeterministicAcrossThreadCounts() {
        TokenizeCommandTest.Result one = run("run", model.toString(), "--prompt", "Hello world", "--max-tokens", "8",
                "--temperature", "0", "--threads", "1");
        TokenizeCommandTest.Result two = run("run", model.toString(), "--prompt", "Hello world", "--max-tokens", "8",
                "--temperature", "0", "--threads", "2");
        assertThat(one.code()).as(one.err()).isZero();
        assertThat(one.out()).isEqualTo(two.out());
    }

    @Test
    void missingOrMalformedTokenizerIsExit2NamingTheFile() throws Exception {
        Path missing = dir.resolve("nope.model");
        TokenizeCommandTest.Result r = run("run", model.toString(), "--prompt", "hi", "--tokenizer", missing.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(missing.toString());
        Path bad = dir.resolve("bad.model");
        Files.write(bad, new byte[] {0x12, 0x05, 0x01});
        r = run("run", model.toString(), "--prompt", "hi", "--tokenizer", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(bad.toString());
    }

    @Test
    void tokenizerOfAnotherVocabularyIsExit2() {
        Path other = FIXTURES.resolve("tokenizer/tok-bpe.model");
        TokenizeCommandTest.Result r = run("run", model.toString(), "--prompt", "hi", "--tokenizer", other.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("1200 pieces").contains("vocab_size is 512");
    }

    @Test
    void missingModelDirIsExit2() {
        TokenizeCommandTest.Result r = run("run", dir.resolve("absent").toString(), "--prompt", "hi");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("absent");
    }

    static String[] concat(String[] a, String last) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = last;
        return out;
    }
}
