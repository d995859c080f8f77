package grokkit.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class StreamingDecoderTest {
    @Test
    void streamedPiecesConcatenateToTheFullDecodeAndNeverShowTransientReplacementChars() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(FixtureTokenizerGoldenTest.fixtures().resolve("tok-bpe.model"));
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < 300; i++) {
            String prompt = TokenizerPropertyTest.randomText(rnd, 1 + rnd.nextInt(5));
            String continuation = TokenizerPropertyTest.randomText(rnd, 1 + rnd.nextInt(10));
            int[] context = tok.encode(prompt);
            int[] generated = tok.encode(continuation); // includes byte pieces for CJK / astral text
            StreamingDecoder d = new StreamingDecoder(tok, context);
            StringBuilder streamed = new StringBuilder();
            for (int id : generated) {
                String part = d.push(id);
                assertThat(part).doesNotContain("\uFFFD");
                streamed.append(part);
            }
            streamed.append(d.flush());
            int[] all = new int[context.length + generated.length];
            System.arraycopy(context, 0, all, 0, context.length);
            System.arraycopy(generated, 0, all, context.length, generated.length);
            assertThat(tok.decode(context) + streamed).isEqualTo(tok.decode(all));
            assertThat(d.generated()).isEqualTo(generated);
        }
    }

    @Test
    void firstGeneratedWordKeepsItsSpaceAfterAPrompt() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(FixtureTokenizerGoldenTest.fixtures().resolve("tok-bpe.model"));
        StreamingDecoder d = new StreamingDecoder(tok, tok.encode("Hello"));
        StringBuilder out = new StringBuilder();
        for (int id : tok.encode("world")) {
            out.append(d.push(id));
        }
        assertThat(out.toString()).isEqualTo(" world");
    }

    @Test
    void anIncompleteByteRunAtTheEndIsHeldThenFlushedAsTheLibraryDecodesIt() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(FixtureTokenizerGoldenTest.fixtures().resolve("tok-bpe.model"));
        StreamingDecoder d = new StreamingDecoder(tok, new int[0]);
        assertThat(d.push(tok.pieceToId("<0xE4>"))).isEmpty();
        assertThat(d.push(tok.pieceToId("<0xB8>"))).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD\uFFFD");
    }
}
