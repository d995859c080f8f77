package grokkit.tokenizer;

import grokkit.errors.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelProtoTest {
    static final Path BPE = FixtureTokenizerGoldenTest.fixtures().resolve("tok-bpe.model");
    static final Path UNK = FixtureTokenizerGoldenTest.fixtures().resolve("tok-unk.model");

    @Test
    void readsSpecsAndPieceTypes() throws Exception {
        ModelProto m = ModelProto.read(BPE);
        assertThat(m.trainer().modelType()).isEqualTo(ModelProto.TrainerSpec.BPE);
        assertThat(m.trainer().byteFallback()).isTrue();
        assertThat(m.trainer().unkId()).isEqualTo(3);
        assertThat(m.trainer().padId()).isEqualTo(0);
        assertThat(m.normalizer().name()).isEqualTo("identity");
        assertThat(m.normalizer().addDummyPrefix()).isTrue();
        assertThat(m.normalizer().removeExtraWhitespaces()).isFalse();
        assertThat(m.pieces()).hasSize(1200);
        assertThat(m.pieces().get(0)).isEqualTo(new ModelProto.Piece("[PAD]", 0f, PieceType.CONTROL));
        assertThat(m.pieces().get(3).type()).isEqualTo(PieceType.UNKNOWN);
        assertThat(m.pieces().stream().filter(p -> p.type() == PieceType.BYTE)).hasSize(256);
        assertThat(m.pieces().stream().filter(p -> p.type() == PieceType.USER_DEFINED).map(ModelProto.Piece::piece))
                .contains("\n", "\t\t", "  ", "<|separator|>");
        assertThat(m.pieces().stream().filter(p -> p.type() == PieceType.CONTROL).map(ModelProto.Piece::piece))
                .containsExactly("[PAD]", "[BOS]", "[EOS]", "<|control|>");
        assertThat(ModelProto.read(UNK).pieces().stream().filter(p -> p.type() == PieceType.UNUSED)).isNotEmpty();
    }

    @Test
    void controlPiecesAreNeverProducedFromTextAndDecodeToNothing() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(BPE);
        int control = tok.pieceToId("<|control|>");
        assertThat(tok.pieceType(control)).isEqualTo(PieceType.CONTROL);
        assertThat(tok.encode("<|control|> [BOS] [EOS]")).doesNotContain(control, tok.bosId(), tok.eosId());
        int[] ids = tok.encode("hi");
        int[] withSpecials = new int[ids.length + 2];
        withSpecials[0] = tok.bosId();
        System.arraycopy(ids, 0, withSpecials, 1, ids.length);
        withSpecials[ids.length + 1] = tok.eosId();
        assertThat(tok.decode(withSpecials)).isEqualTo("hi"); // the dummy ▁ is still stripped after BOS
    }

    @Test
    void unknownDecodesToTheUnkSurface() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(UNK);
        assertThat(tok.model().trainer().byteFallback()).isFalse();
        assertThat(tok.decode(new int[] {tok.unkId()})).isEqualTo(tok.model().trainer().unkSurface());
    }

    @Test
    void invalidByteRunsDecodeToOneReplacementPerByte() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(BPE);
        int e4 = tok.pieceToId("<0xE4>"), b8 = tok.pieceToId("<0xB8>"), x96 = tok.pieceToId("<0x96>"), ff = tok.pieceToId("<0xFF>");
        assertThat(tok.decode(new int[] {e4, b8, x96})).isEqualTo("世");
        assertThat(tok.decode(new int[] {e4, b8})).isEqualTo("\uFFFD\uFFFD");
        assertThat(tok.decode(new int[] {ff, e4, b8, x96})).isEqualTo("\uFFFD世");
    }

    @Test
    void missingFileIsBadInputNamingIt(@TempDir Path dir) {
        Path missing = dir.resolve("nope.model");
        assertThatThrownBy(() -> SentencePieceTokenizer.load(missing))
                .isInstanceOf(BadInputException.class).hasMessageContaining(missing.toString()).hasMessageContaining("no such file");
    }

    @Test
    void truncatedOrGarbageFilesAreBadInputNamingIt(@TempDir Path dir) throws Exception {
        byte[] good = Files.readAllBytes(BPE);
        for (int cut : new int[] {1, 7, 100, good.length / 2, good.length - 1}) {
            Path f = dir.resolve("cut" + cut + ".model");
            Files.write(f, Arrays.copyOf(good, cut));
            assertThatThrownBy(() -> SentencePieceTokenizer.load(f))
                    .as("truncated at %d", cut).isInstanceOf(BadInputException.class).hasMessageContaining(f.toString());
        }
        Path text = dir.resolve("text.model");
        Files.writeString(text, "this is not a protobuf at all\n");
        assertThatThrownBy(() -> SentencePieceTokenizer.load(text)).isInstanceOf(BadInputException.class).hasMessageContaining(text.toString());
        Path empty = dir.resolve("empty.model");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> SentencePieceTokenizer.load(empty)).isInstanceOf(BadInputException.class).hasMessageContaining("no pieces");
    }

    @Test
    void randomCorruptionNeverEscapesAsAnUncheckedException(@TempDir Path dir) throws Exception {
        byte[] good = Files.readAllBytes(BPE);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        for (int i = 0; i < 200; i++) {
            byte[] bad = good.clone();
            for (int k = 0; k < 4; k++) {
                bad[rnd.nextInt(bad.length)] = (byte) rnd.nextInt(256);
            }
            Path f = dir.resolve("bad.model");
            Files.write(f, bad);
            try {
                SentencePieceTokenizer tok = SentencePieceTokenizer.load(f);
                tok.decode(tok.encode("still usable? 123 世界"));
            } catch (BadInputException expected) {
                assertThat(expected).hasMessageContaining(f.toString());
            }
        }
    }
}
