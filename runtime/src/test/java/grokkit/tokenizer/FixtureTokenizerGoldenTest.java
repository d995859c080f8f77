package grokkit.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The project's own small BPE models (made by tools/python/make_tokenizer_fixture.py with the
 * reference library) against the library's encodings of varied strings: byte fallback, user
 * symbols, control pieces, digits, astral characters, control characters, whitespace runs, and
 * (tok-unk) unknown-run merging, the unk surface and UNUSED re-splitting.
 */
class FixtureTokenizerGoldenTest {
    static Path fixtures() {
        return GoldenFile.repoRoot().resolve("golden-tests/fixtures/tokenizer");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tok-bpe", "tok-unk", "tiny"})
    void encodesAndDecodesEveryLineLikeTheLibrary(String name) throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(fixtures().resolve(name + ".model"));
        GoldenFile golden = GoldenFile.read(fixtures().resolve(name + ".jsonl"));
        List<String> failures = new ArrayList<>();
        for (GoldenFile.Line line : golden.lines()) {
            SentencePieceTokenizer.Encoding e = tok.encodeWithPieces(line.text());
            if (!Arrays.equals(e.ids(), line.ids()) || !e.pieces().equals(line.pieces())) {
                failures.add("line " + line.number() + " " + Grok1TokenizerGoldenTest.quote(line.text()) + ": expected "
                        + line.pieces() + " " + Arrays.toString(line.ids()) + ", got " + e.pieces() + " " + Arrays.toString(e.ids()));
            }
            if (!Arrays.equals(tok.encode(line.text()), e.ids())) {
                failures.add("line " + line.number() + ": ids-only encoding differs from encodeWithPieces");
            }
            String decoded = tok.decode(line.ids());
            if (!decoded.equals(line.decoded())) {
                failures.add("line " + line.number() + ": decoded " + Grok1TokenizerGoldenTest.quote(decoded)
                        + ", library " + Grok1TokenizerGoldenTest.quote(line.decoded()));
            }
        }
        System.out.println(name + " golden: " + (golden.lines().size() - failures.size()) + "/" + golden.lines().size() + " lines match");
        assertThat(failures).isEmpty();
        assertThat(golden.lines()).hasSizeGreaterThan(100);
    }
}
