package grokkit.gguf;

import grokkit.errors.BadInputException;
import grokkit.shard.ShardWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufRoundTripTest {
    @TempDir
    Path dir;

    static Map<String, GgufValue> metadata() {
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string("grok"));
        kv.put("grok.block_count", GgufValue.u32(12));
        kv.put("grok.embedding_scale", GgufValue.f32(78.38367f));
        kv.put("split.no", GgufValue.u16(0));
        kv.put("split.tensors.count", GgufValue.i32(-3));
        kv.put("x.u64", GgufValue.u64(1L << 40));
        kv.put("x.flag", GgufValue.bool(true));
        kv.put("tokenizer.ggml.tokens", GgufValue.strings(List.of("<pad>", "▁a", "\n", "é")));
        kv.put("tokenizer.ggml.scores", GgufValue.f32s(new float[] {0f, -1.5f, Float.NaN, 3f}));
        kv.put("tokenizer.ggml.token_type", GgufValue.i32s(new int[] {3, 1, 4, -1}));
        return kv;
    }

    static List<GgufWriter.Tensor> tensors() {
        return List.of(new GgufWriter.Tensor("a.weight", new long[] {96, 3}, GgmlType.F32),
                new GgufWriter.Tensor("b.weight", new long[] {7}, GgmlType.F16),
                new GgufWriter.Tensor("c.weight", new long[] {64, 2, 3}, GgmlType.Q8_0));
    }

    /** Writes the test file; tensor data is a deterministic byte pattern. */
    static Path write(Path file) throws IOException {
        try (GgufWriter w = new GgufWriter(file, metadata(), tensors(), 64, ShardWriter.FILES)) {
            for (int i = 0; i < w.tensors().size(); i++) {
                w.beginTensor(i);
                byte[] b = new byte[(int) w.tensors().get(i).bytes()];
                for (int j = 0; j < b.length; j++) b[j] = (byte) (31 * i + j);
                w.write(b, 0, b.length);
            }
            w.commit();
        }
        return file;
    }

    @Test
    void writtenFileReadsBackWithEveryKeyTensorAndByte() throws IOException {
        Path f = write(dir.resolve("m.gguf"));
        GgufFile g = GgufFile.read(f);
        assertThat(g.version()).isEqualTo(3);
        assertThat(g.alignment()).isEqualTo(64);
        assertThat(g.dataStart() % 64).isZero();
        assertThat(g.metadata().keySet()).containsExactly("general.architecture", "grok.block_count", "grok.embedding_scale",
                "split.no", "split.tensors.count", "x.u64", "x.flag", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                "tokenizer.ggml.token_type", "general.alignment");
        assertThat(g.get("general.architecture").asString()).isEqualTo("grok");
        assertThat(g.get("grok.block_count").type()).isEqualTo(GgufValueType.UINT32);
        assertThat(g.get("grok.block_count").asLong()).isEqualTo(12);
        assertThat((float) g.get("grok.embedding_scale").asDouble()).isEqualTo(78.38367f);
        assertThat(g.get("split.no").type()).isEqualTo(GgufValueType.UINT16);
        assertThat(g.get("split.tensors.count").asLong()).isEqualTo(-3);
        assertThat(g.get("x.u64").asLong()).isEqualTo(1L << 40);
        assertThat(g.get("x.flag").value()).isEqualTo(true);
        assertThat(g.get("tokenizer.ggml.tokens").value()).isEqualTo(List.of("<pad>", "▁a", "\n", "é"));
        assertThat((float[]) g.get("tokenizer.ggml.scores").value()).containsExactly(0f, -1.5f, Float.NaN, 3f);
        assertThat((long[]) g.get("tokenizer.ggml.token_type").value()).containsExactly(3, 1, 4, -1);
        assertThat(g.tensors()).hasSize(3);
        assertThat(g.tensors()).isEqualTo(GgufWriter.layout(tensors(), 64));
        assertThat(g.tensor("c.weight").bytes()).isEqualTo(2 * 34 * 2 * 3);
        byte[] all = Files.readAllBytes(f);
        for (int i = 0; i < 3; i++) {
            GgufTensorInfo t = g.tensors().get(i);
            assertThat(t.offset() % 64).isZero();
            for (int j = 0; j < t.bytes(); j++) assertThat(all[(int) (g.dataOffset(t) + j)]).isEqualTo((byte) (31 * i + j));
        }
        GgufTensorInfo last = g.tensors().getLast();
        assertThat(all.length).isEqualTo(g.dataStart() + GgufWriter.pad(last.offset() + last.bytes(), 64));
        assertThat(Files.exists(dir.resolve("m.gguf.partial"))).isFalse();
    }

    @Test
    void bytesAreDeterministic() throws IOException {
        assertThat(Files.readAllBytes(write(dir.resolve("a.gguf")))).isEqualTo(Files.readAllBytes(write(dir.resolve("b.gguf"))));
    }

    @Test
    void unfinishedWriteLeavesNothing() throws IOException {
        Path f = dir.resolve("x.gguf");
        try (GgufWriter w = new GgufWriter(f, metadata(), tensors(), 64, ShardWriter.FILES)) {
            w.beginTensor(0);
            w.write(new byte[10], 0, 10);
            assertThatThrownBy(() -> w.beginTensor(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("a.weight");
        }
        assertThat(Files.exists(f)).isFalse();
        assertThat(Files.exists(dir.resolve("x.gguf.partial"))).isFalse();
    }

    // ---- refusals

    private Path corrupt(String name, java.util.function.Consumer<ByteBuffer> edit) throws IOException {
        Path f = write(dir.resolve(name));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        edit.accept(b);
        Files.write(f, java.util.Arrays.copyOf(b.array(), b.limit()));
        return f;
    }

    /** File offset of the tensor-info record of {@code name} (its name's length field). */
    private static int infoOffset(byte[] file, String name) {
        byte[] n = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + n.length < file.length; i++) {
            for (int k = 0; k < n.length; k++) if (file[i + k] != n[k]) continue outer;
            return i - 8;
        }
        throw new AssertionError(name);
    }

    @Test
    void refusesBadMagic() throws IOException {
        Path f = corrupt("magic.gguf", b -> b.put(0, (byte) 'X'));
        assertThatThrownBy(() -> GgufFile.read(f)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("bad magic");
    }

    @Test
    void refusesTruncatedFile() throws IOException {
        Path f = write(dir.resolve("trunc.gguf"));
        byte[] all = Files.readAllBytes(f);
        for (int cut : new int[] {0, 10, 23, 30, 200, all.length / 2, all.length - 1}) {
            Files.write(f, java.util.Arrays.copyOf(all, cut));
            assertThatThrownBy(() -> GgufFile.read(f)).as("cut at %d", cut).isInstanceOf(BadInputException.class)
                    .hasMessageContaining(f.toString()).hasMessageMatching("(?s).*(truncated|past the end).*");
        }
    }

    @Test
    void refusesOffsetPastTheEnd() throws IOException {
        byte[] file = Files.readAllBytes(write(dir.resolve("probe.gguf")));
        int at = infoOffset(file, "c.weight") + 8 + "c.weight".length() + 4 + 3 * 8 + 4;
        Path f = corrupt("offset.gguf", b -> b.putLong(at, 1L << 40));
        assertThatThrownBy(() -> GgufFile.read(f)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("c.weight");
    }

    @Test
    void refusesUnknownTensorType() throws IOException {
        byte[] file = Files.readAllBytes(write(dir.resolve("probe.gguf")));
        int at = infoOffset(file, "b.weight") + 8 + "b.weight".length() + 4 + 8;
        Path f = corrupt("type.gguf", b -> b.putInt(at, 99));
        assertThatThrownBy(() -> GgufFile.read(f)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("unknown ggml type id 99");
    }

    @Test
    void refusesAbsurdCountsAndLengths() throws IOException {
        Path f1 = corrupt("count.gguf", b -> b.putLong(8, Long.MAX_VALUE / 2));
        assertThatThrownBy(() -> GgufFile.read(f1)).isInstanceOf(BadInputException.class).hasMessageContaining("tensor count");
        Path f2 = corrupt("kvcount.gguf", b -> b.putLong(16, 1L << 50));
        assertThatThrownBy(() -> GgufFile.read(f2)).isInstanceOf(BadInputException.class).hasMessageContaining("key/value count");
        Path f3 = corrupt("keylen.gguf", b -> b.putLong(24, -5L));
        assertThatThrownBy(() -> GgufFile.read(f3)).isInstanceOf(BadInputException.class).hasMessageContaining("key 0 length");
    }

    @Test
    void randomCorruptionNeverEscapesAsAnythingButBadInput() throws IOException {
        byte[] good = Files.readAllBytes(write(dir.resolve("fuzz-src.gguf")));
        Random r = new Random(7);
        Path f = dir.resolve("fuzz.gguf");
        for (int k = 0; k < 300; k++) {
            byte[] b = good.clone();
            int flips = 1 + r.nextInt(4);
            for (int i = 0; i < flips; i++) b[r.nextInt(Math.min(b.length, 700))] = (byte) r.nextInt(256);
            Files.write(f, b);
            try {
                GgufFile.read(f);
            } catch (BadInputException expected) {
                assertThat(expected.getMessage()).contains(f.toString());
            }
        }
    }

    @Test
    void offsetsAndSizesBeyond4GiBRoundTripThroughASparseFile() throws IOException {
        // A 6 GiB f32 tensor (Grok-1's expert tensors exported as f32 are 6.4 GB) and one after it.
        List<GgufWriter.Tensor> ts = List.of(new GgufWriter.Tensor("big", new long[] {6144, 262144}, GgmlType.F32),
                new GgufWriter.Tensor("after", new long[] {32, 3}, GgmlType.Q8_0));
        List<GgufTensorInfo> infos = GgufWriter.layout(ts, 64);
        assertThat(infos.get(0).bytes()).isEqualTo(6L << 30);
        assertThat(infos.get(1).offset()).isEqualTo(6L << 30);
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.alignment", GgufValue.u32(64));
        byte[] header = GgufWriter.header(kv, infos);
        Path f = dir.resolve("sparse.gguf");
        long dataStart = GgufWriter.pad(header.length, 64);
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.write(header);
            raf.setLength(dataStart + GgufWriter.pad((6L << 30) + 3 * 34, 64));
        }
        GgufFile g = GgufFile.read(f);
        assertThat(g.tensors()).isEqualTo(infos);
        assertThat(g.dataOffset(g.tensor("after"))).isEqualTo(dataStart + (6L << 30));
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(dataStart + (6L << 30) + 50);
        }
        assertThatThrownBy(() -> GgufFile.read(f)).isInstanceOf(BadInputException.class).hasMessageContaining("after");
    }
}
