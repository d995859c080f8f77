package grokkit.checkpoint;

import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.pickle.PickleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Files beyond 2 GiB and 4 GiB, made sparse (the payload is a hole; only header and tail are
 * written), so offsets, BINBYTES' unsigned 32-bit length and BINBYTES8 are exercised on
 * real file sizes without writing gigabytes.
 */
class LargeSparseCheckpointTest {
    @Test
    void embeddingsLargerThan2GiBInAWholeCheckpoint(@TempDir Path dir) throws Exception {
        int vocab = 80_000_000, emb = 8; // 80M x 8 x 4 bytes = 2.56 GB: BINBYTES with a length above 2^31
        ModelConfig c = new ModelConfig(vocab, emb, 8, 1, 1, 1, 2, 1, 8.0, 8, 1, 1, 0.35, 30, 1e-5, 1e4, 0, 2, 64);
        SyntheticCheckpoint.write(dir, c, SyntheticCheckpoint.Style.RELEASE, 1);
        long payload = (long) vocab * emb * 4;
        Path embFile = dir.resolve("tensor00000_000");
        new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1).sparseArray("f4", '<', new long[]{vocab, emb}, payload).stop().writeTo(embFile);
        assertThat(Files.size(embFile)).isGreaterThan(payload).isGreaterThan(1L << 31);

        try (Checkpoint ckpt = Checkpoint.open(dir, new ModelConfig.Parsed(c, Set.of("key_size"))); Arena arena = Arena.ofConfined()) {
            assertThat(ckpt.config().vocabSize()).isEqualTo(vocab);
            ArrayDescriptor e = ckpt.tensor(ParamNames.EMBEDDINGS).weight();
            assertThat(e.byteLength()).isEqualTo(payload);
            assertThat(e.offset() + e.byteLength()).isLessThan(Files.size(embFile));
            MemorySegment seg = ckpt.map(e, arena);
            assertThat(seg.byteSize()).isEqualTo(payload);
            assertThat(seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, payload - 4)).isZero(); // the hole reads as zeros
        }
    }

    @Test
    void binbytes8PayloadBeyond4GiB(@TempDir Path dir) throws Exception {
        long n = (5L << 30) / 4; // 5 GiB of float32
        Path file = dir.resolve("tensor00000_000");
        new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2).sparseArray("f4", '<', new long[]{n}, n * 4).stop().writeTo(file);
        TensorFile t = TensorFileReader.read(0, file);
        assertThat(t.weight().byteLength()).isEqualTo(5L << 30);
        assertThat(t.weight().shape()).containsExactly(n);
        assertThat(t.weight().offset()).isLessThan(300);
    }
}
