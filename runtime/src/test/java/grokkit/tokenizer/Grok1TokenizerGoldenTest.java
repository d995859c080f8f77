package grokkit.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real Grok-1 tokenizer against the reference library's output in the shared fixtures
 * ({@code <grok.root>/../shared/grok1/}); skipped when they are absent.
 */
class Grok1TokenizerGoldenTest {
    static Path dir = GoldenFile.sharedDir().resolve("grok1");
    static SentencePieceTokenizer tokenizer;
    static GoldenFile golden;

    @BeforeAll
    static void load() throws Exception {
        if (Files.isRegularFile(dir.resolve("tokenizer.model")) && Files.isRegularFile(dir.resolve("tokenizer-golden.jsonl"))) {
            tokenizer = SentencePieceTokenizer.load(dir.resolve("tokenizer.model"));
            golden = GoldenFile.read(dir.resolve("tokenizer-golden.jsonl"));
        }
    }

    @BeforeEach
    void requireSharedFixtures() {
        assumeTrue(tokenizer != null, "shared Grok-1 tokenizer fixtures not found at " + dir
                + " (set GROK_SHARED to the shared directory); skipping the real-model golden test");
    }

    @Test
    void modelHasGrok1Shape() {
        assertThat(tokenizer.vocabSize()).isEqualTo(131072);
        assertThat(tokenizer.bosId()).isEqualTo(1);
        assertThat(tokenizer.eosId()).isEqualTo(2);
        assertThat(tokenizer.model().trainer().byteFallback()).isTrue();
    }

    @Test
    void everyGoldenLineEncodesToTheSameIdsAndPieces() {
        List<String> failures = new ArrayList<>();
        for (GoldenFile.Line line : golden.lines()) {
            SentencePieceTokenizer.Encoding e = tokenizer.encodeWithPieces(line.text());
            if (!Arrays.equals(e.ids(), line.ids()) || !e.pieces().equals(line.pieces())) {
                failures.add("line " + line.number() + " " + quote(line.text()) + ": expected " + line.pieces()
                        + " " + Arrays.toString(line.ids()) + ", got " + e.pieces() + " " + Arrays.toString(e.ids()));
            }
            assertThat(tokenizer.encode(line.text())).as("ids-only path, line %d", line.number()).isEqualTo(e.ids());
        }
        System.out.println("Grok-1 tokenizer golden: " + (golden.lines().size() - failures.size()) + "/" + golden.lines().size() + " lines match");
        assertThat(failures).isEmpty();
        assertThat(golden.lines()).hasSizeGreaterThan(100);
    }

    @Test
    void everyGoldenLineDecodesToTheLibrarysText() {
        List<String> failures = new ArrayList<>();
        for (GoldenFile.Line line : golden.lines()) {
            if (line.decoded() == null) {
                continue;
            }
            String d = tokenizer.decode(line.ids());
            if (!d.equals(line.decoded())) {
                failures.add("line " + line.number() + ": expected " + quote(line.decoded()) + ", got " + quote(d));
            }
        }
        assertThat(failures).isEmpty();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }
}
