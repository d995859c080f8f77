package grokkit.convert;

import grokkit.errors.BadInputException;
import grokkit.model.ParamNames;
import grokkit.quant.Halfs;
import grokkit.quant.WeightMatrix;
import grokkit.shard.Manifest;
import grokkit.shard.ModelChecker;
import grokkit.shard.ShardedModel;
import grokkit.shard.ShardWriter;
import grokkit.shard.TensorRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConverterTest {
    @TempDir
    Path tmp;

    static final ConvertOptions SMALL_SHARDS = ConvertOptions.defaults().withThreads(2).withShardSize(64 * 1024);

    static Converter.Result convert(ConversionSource src, Path out, ConvertOptions o) throws IOException {
        return convert(src, out, o, ConvertHooks.NONE);
    }

    static Converter.Result convert(ConversionSource src, Path out, ConvertOptions o, ConvertHooks hooks) throws IOException {
        long t0 = System.nanoTime();
        try {
            return new Converter(o, new PrintWriter(new StringWriter()), false, hooks).convert(src, out);
        } finally {
            System.err.println("TIMING convert " + (System.nanoTime() - t0) / 1e6 + " ms");
        }
    }

    /** W[i, o] of a source tensor, dequantized independently of the converter: q·s in float64. */
    static double sourceValue(SourceTensor t, int expert, int i, int o) {
        long[] sh = t.weight().shape();
        int in = (int) sh[sh.length - 2], out = (int) sh[sh.length - 1];
        long e = Math.max(expert, 0);
        if (!t.quantized()) return t.weight().data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (e * in + i) * out + o);
        int blocks = t.rowBlocks();
        byte q = t.weight().data().get(ValueLayout.JAVA_BYTE, (e * in + i) * out + o);
        short s = t.scales().data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, (e * blocks + i / (in / blocks)) * out + o);
        return (double) q * Halfs.bf16ToFloat(s);
    }

    static TreeMap<String, byte[]> files(Path dir) throws IOException {
        TreeMap<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
        }
        return m;
    }

    static void assertSameFiles(Path a, Path b) throws IOException {
        TreeMap<String, byte[]> fa = files(a), fb = files(b);
        assertThat(fb.keySet()).isEqualTo(fa.keySet());
        for (String k : fa.keySet()) assertThat(fb.get(k)).as(k).isEqualTo(fa.get(k));
    }

    @Test
    void int8ConversionDequantizesExactlyToTheSource() throws IOException {
        SyntheticSource src = new SyntheticSource(1);
        Path out = tmp.resolve("int8");
        Converter.Result r = convert(src, out, SMALL_SHARDS);
        assertThat(r.manifest().shards()).hasSizeGreaterThan(1);
        assertThat(ModelChecker.check(out).problems()).isEmpty();
        assertEqualsSource(src, out);
        assertThat(r.report().summary().requantized()).isZero();
    }

    /** Every stored value equals the source's q·s (int8) or f32 value, element by element. */
    static void assertEqualsSource(ConversionSource src, Path out) throws IOException {
        try (ShardedModel m = ShardedModel.open(out)) {
            int n = 0;
            for (TensorRecord t : m.tensors()) {
                SourceTensor s = src.tensor(t.name());
                WeightMatrix w = m.open(t);
                float[] col = new float[t.in()];
                boolean lossless = t.encoding().name().equals("f32") || t.encoding().name().equals("int8-rowblock");
                if (!lossless) continue;
                boolean rowsAreOutputs = t.name().equals(ParamNames.EMBEDDINGS), vector = s.weight().rank() == 1;
                int expert = t.expert() == null ? -1 : t.expert();
                for (int o = 0; o < t.out(); o++) {
                    w.dequantizeColumn(o, col);
                    for (int i = 0; i < t.in(); i++) {
                        double expected = rowsAreOutputs || vector
                                ? s.weight().data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) o * t.in() + i)
                                : sourceValue(s, expert, i, o);
                        if (col[i] != expected) throw new AssertionError(t.label() + " [" + i + "," + o + "]: " + col[i] + " != " + expected);
                        n++;
                    }
                }
            }
            assertThat(n).isGreaterThan(100_000);
            assertThat(m.vector(ParamNames.FINAL_NORM)).hasSize(src.config().embSize());
        }
    }

    @Test
    void int4ReportMatchesAnIndependentComputation() throws IOException {
        SyntheticSource src = new SyntheticSource(2);
        Path out = tmp.resolve("int4");
        Converter.Result r = convert(src, out, SMALL_SHARDS.withExperts("int4").withAttention("int4").withEmbeddings("bf16"));
        assertThat(ModelChecker.check(out).problems()).isEmpty();
        int checked = assertReportMatchesIndependentComputation(src, out);
        assertThat(checked).isEqualTo(2 * (4 + 3 * 4) + 1);
        assertThat(r.report().worst()).hasSize(ConversionReport.WORST);
        // int4 means the best int4 encoding, q4nl (issue 6), for experts and attention alike
        assertThat(r.report().byEncoding()).extracting(ConversionReport.EncodingRow::encoding)
                .contains("q4nl", "bf16", "f32").doesNotContain("q4");
        assertThat(r.manifest().tensors()).filteredOn(t -> t.encoding().name().startsWith("q4"))
                .hasSize(2 * (4 + 3 * 4)).allSatisfy(t -> assertThat(t.encoding().name()).isEqualTo("q4nl"));
    }

    @Test
    void explicitQ4StillWritesTheUniformGridAndItsReportMatches() throws IOException {
        SyntheticSource src = new SyntheticSource(2);
        Path out = tmp.resolve("q4");
        Converter.Result r = convert(src, out, SMALL_SHARDS.withExperts("q4"));
        assertThat(ModelChecker.check(out).problems()).isEmpty();
        assertThat(assertReportMatchesIndependentComputation(src, out)).isEqualTo(2 * 3 * 4);
        assertThat(r.manifest().tensors()).filteredOn(t -> t.expert() != null)
                .isNotEmpty().allSatisfy(t -> assertThat(t.encoding().name()).isEqualTo("q4"));
        assertThat(r.manifest().conversion().get("experts").asText()).isEqualTo("q4");
    }

    /**
     * Recomputes, for every re-quantized record of the report, Σw² and Σ(w'−w)² in float64 from
     * the shards (dequantized by the kernels) and the source (q·s indexed directly), and checks
     * the report's relative RMS error and SQNR against them. Returns how many records it checked.
     */
    static int assertReportMatchesIndependentComputation(ConversionSource src, Path out) throws IOException {
        ConversionReport report = ConversionReport.read(Files.readAllBytes(out.resolve(ConversionReport.FILE_NAME)));
        int checked = 0;
        try (ShardedModel m = ShardedModel.open(out)) {
            for (ConversionReport.Entry e : report.tensors()) {
                TensorRecord t = m.record(e.name(), e.expert());
                if (e.lossless()) {
                    assertThat(t.encoding().name()).isIn("f32", "int8-rowblock");
                    continue;
                }
                SourceTensor s = src.tensor(t.name());
                boolean emb = t.name().equals(ParamNames.EMBEDDINGS);
                double sum = 0, err = 0;
                float[] col = new float[t.in()];
                WeightMatrix w = m.open(t);
                for (int o = 0; o < t.out(); o++) {
                    w.dequantizeColumn(o, col);
                    for (int i = 0; i < t.in(); i++) {
                        double x = emb ? s.weight().data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) o * t.in() + i)
                                : sourceValue(s, t.expert() == null ? -1 : t.expert(), i, o);
                        sum += x * x;
                        err += (col[i] - x) * (col[i] - x);
                    }
                }
                double rel = Math.sqrt(err / sum), sqnr = 10 * Math.log10(sum / err);
                assertThat(e.relRms()).as(e.label()).isCloseTo(rel, org.assertj.core.api.Assertions.within(rel * 1e-9));
                assertThat(e.sqnrDb()).as(e.label()).isCloseTo(sqnr, org.assertj.core.api.Assertions.within(1e-8));
                // 4-bit with a searched scale per group: ~20 dB on these weights (sanity bound)
                if (t.encoding().name().equals("q4")) assertThat(sqnr).as(e.label()).isBetween(10.0, 35.0);
                checked++;
            }
        }
        return checked;
    }

    @Test
    void outputIsByteIdenticalAcrossRunsAndThreadCounts() throws IOException {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        convert(new SyntheticSource(3), a, SMALL_SHARDS.withExperts("int4").withThreads(1));
        convert(new SyntheticSource(3), b, SMALL_SHARDS.withExperts("int4").withThreads(3));
        assertSameFiles(a, b);
        assertThat(Files.exists(a.resolve(Converter.STATE_DIR))).isFalse();
    }

    static final class SimulatedCrash extends Error {}

    @Test
    void crashMidShardThenResumeGivesTheSameBytes() throws IOException {
        Path clean = tmp.resolve("clean"), crashed = tmp.resolve("crashed");
        ConvertOptions o = SMALL_SHARDS.withExperts("int4");
        Converter.Result r = convert(new SyntheticSource(4), clean, o);
        String victim = r.manifest().shards().get(2).file();
        ConvertHooks crash = new ConvertHooks() {
            @Override
            public void afterWrite(String shard, long position) {
                if (shard.equals(victim) && position > 1000) throw new SimulatedCrash();
            }
        };
        assertThatThrownBy(() -> convert(new SyntheticSource(4), crashed, o, crash)).isInstanceOf(SimulatedCrash.class);
        assertThat(crashed.resolve(Manifest.FILE_NAME)).doesNotExist();
        assertThat(crashed.resolve(victim)).doesNotExist();
        assertThat(crashed.resolve(r.manifest().shards().get(1).file())).exists();
        assertThatThrownBy(() -> convert(new SyntheticSource(4), crashed, o))
                .isInstanceOf(BadInputException.class).hasMessageContaining("--resume");
        Converter.Result resumed = convert(new SyntheticSource(4), crashed, o.withResume(true));
        assertThat(resumed.shardsReused()).isEqualTo(2);
        assertSameFiles(clean, crashed);
        // A complete directory resumes to nothing to do.
        assertThat(convert(new SyntheticSource(4), crashed, o.withResume(true)).writtenBytes()).isZero();
    }

    /**
     * Shards written under one set of byte-determining inputs must not be kept under another:
     * --resume with a different --group-size (or --experts) is refused as bad input, naming the
     * directory; a different thread count is not byte-determining and resumes to the same bytes.
     */
    @Test
    void resumeWithOtherByteDeterminingInputsIsRefused() throws IOException {
        Path clean = tmp.resolve("clean"), crashed = tmp.resolve("crashed");
        ConvertOptions o = SMALL_SHARDS.withExperts("int4");
        Converter.Result r = convert(new SyntheticSource(4), clean, o);
        String victim = r.manifest().shards().get(2).file();
        ConvertHooks crash = new ConvertHooks() {
            @Override
            public void afterWrite(String shard, long position) {
                if (shard.equals(victim) && position > 1000) throw new SimulatedCrash();
            }
        };
        assertThatThrownBy(() -> convert(new SyntheticSource(4), crashed, o, crash)).isInstanceOf(SimulatedCrash.class);
        for (ConvertOptions other : List.of(o.withGroupSize(64), o.withExperts("q4"), o.withEmbeddings("bf16"))) {
            assertThatThrownBy(() -> convert(new SyntheticSource(4), crashed, other.withResume(true)))
                    .as("%s", other).isInstanceOf(BadInputException.class)
                    .hasMessageContaining(crashed.toString()).hasMessageContaining("--resume").hasMessageContaining("other inputs");
            assertThat(crashed.resolve(Manifest.FILE_NAME)).doesNotExist();
        }
        Converter.Result resumed = convert(new SyntheticSource(4), crashed, o.withThreads(3).withResume(true));
        assertThat(resumed.shardsReused()).isEqualTo(2);
        assertSameFiles(clean, crashed);
    }

    @Test
    void resumeRewritesAShardWhoseBytesNoLongerVerify() throws IOException {
        Path clean = tmp.resolve("clean"), dir = tmp.resolve("dir");
        Converter.Result r = convert(new SyntheticSource(5), clean, SMALL_SHARDS);
        String last = r.manifest().shards().getLast().file();
        ConvertHooks crash = new ConvertHooks() {
            @Override
            public void afterWrite(String shard, long position) {
                if (shard.equals(last)) throw new SimulatedCrash();
            }
        };
        assertThatThrownBy(() -> convert(new SyntheticSource(5), dir, SMALL_SHARDS, crash)).isInstanceOf(SimulatedCrash.class);
        flipByte(dir.resolve(r.manifest().shards().get(0).file()), 100);
        Converter.Result resumed = convert(new SyntheticSource(5), dir, SMALL_SHARDS.withResume(true));
        assertThat(resumed.shardsReused()).isEqualTo(r.manifest().shards().size() - 2);
        assertSameFiles(clean, dir);
    }

    static void flipByte(Path file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
            ch.write(b, at);
        }
    }

    @Test
    void checkNamesTheTensorOfAFlippedByte() throws IOException {
        Path out = tmp.resolve("m");
        Converter.Result r = convert(new SyntheticSource(6), out, SMALL_SHARDS.withExperts("int4"));
        TensorRecord victim = r.manifest().tensors().stream().filter(t -> t.expert() != null && t.expert() == 2).findFirst().orElseThrow();
        flipByte(out.resolve(victim.shard()), victim.weights().offset() + victim.weights().length() / 2);
        List<String> problems = ModelChecker.check(out).problems();
        assertThat(problems).hasSize(1);
        assertThat(problems.getFirst()).contains(victim.name(), "expert 2", "weights", "CRC32C", victim.shard());
        // and in a scales region, and in padding
        flipByte(out.resolve(victim.shard()), victim.weights().offset() + victim.weights().length() / 2);
        flipByte(out.resolve(victim.shard()), victim.scales().offset());
        assertThat(ModelChecker.check(out).problems()).singleElement().asString().contains(victim.label(), "scales");
    }

    @Test
    void unwritableOutputDirectoryIsBadInputAndWritesNothing() throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertThatThrownBy(() -> convert(new SyntheticSource(7), file.resolve("out"), SMALL_SHARDS))
                .isInstanceOf(BadInputException.class).hasMessageContaining(file.resolve("out").toString()).hasMessageContaining("cannot create");
        assertThatThrownBy(() -> convert(new SyntheticSource(7), file, SMALL_SHARDS))
                .isInstanceOf(BadInputException.class).hasMessageContaining("not a directory");
    }

    @Test
    void fullDiskIsBadInputWithoutManifest() throws IOException {
        Path out = tmp.resolve("full");
        long[] budget = {150_000};
        ConvertHooks fullDisk = new ConvertHooks() {
            @Override
            public ShardWriter.ChannelOpener channels() {
                return p -> new FullDiskChannel(ShardWriter.FILES.open(p), budget);
            }
        };
        assertThatThrownBy(() -> convert(new SyntheticSource(8), out, SMALL_SHARDS, fullDisk))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("No space left on device").hasMessageContaining("shard-0000").hasMessageContaining("no manifest");
        assertThat(out.resolve(Manifest.FILE_NAME)).doesNotExist();
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(ShardWriter.PARTIAL_SUFFIX));
        }
        // With space again, --resume completes it.
        convert(new SyntheticSource(8), out, SMALL_SHARDS.withResume(true));
        assertThat(ModelChecker.check(out).ok()).isTrue();
    }

    /** A channel that fails like a full disk once {@code budget} bytes have been written in total. */
    static final class FullDiskChannel implements WritableByteChannel {
        private final WritableByteChannel inner;
        private final long[] budget;

        FullDiskChannel(WritableByteChannel inner, long[] budget) {
            this.inner = inner;
            this.budget = budget;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (budget[0] < src.remaining()) throw new IOException("No space left on device");
            budget[0] -= src.remaining();
            return inner.write(src);
        }

        @Override public boolean isOpen() { return inner.isOpen(); }
        @Override public void close() throws IOException { inner.close(); }
    }

    @Test
    void badOptionsAreRefusedBeforeWriting() {
        Path out = tmp.resolve("opts");
        for (ConvertOptions o : List.of(SMALL_SHARDS.withExperts("int3"), SMALL_SHARDS.withGroupSize(48),
                SMALL_SHARDS.withThreads(0), SMALL_SHARDS.withTokenizer(tmp.resolve("missing.model")))) {
            assertThatThrownBy(() -> convert(new SyntheticSource(9), out, o)).isInstanceOf(BadInputException.class);
        }
        assertThat(out).doesNotExist();
    }

    @Test
    void expertsAreStoredExpertMajorAndTogether() throws IOException {
        Path out = tmp.resolve("layout");
        Converter.Result r = convert(new SyntheticSource(10), out, SMALL_SHARDS);
        List<String> order = new ArrayList<>();
        for (TensorRecord t : r.manifest().tensors()) if (t.expert() != null && ParamNames.layerOf(t.name()) == 1) order.add(ParamNames.paramOf(t.name()) + "#" + t.expert());
        assertThat(order.subList(0, 6)).containsExactly("moe/linear/w#0", "moe/linear_v/w#0", "moe/linear_1/w#0", "moe/linear/w#1", "moe/linear_v/w#1", "moe/linear_1/w#1");
        // an expert's three matrices share a shard and are adjacent
        List<TensorRecord> l1 = r.manifest().tensors().stream().filter(t -> t.expert() != null && t.expert() == 3 && ParamNames.layerOf(t.name()) == 0).toList();
        assertThat(l1).extracting(TensorRecord::shard).containsOnly(l1.getFirst().shard());
        for (TensorRecord t : r.manifest().tensors()) {
            assertThat(t.weights().offset() % 64).isZero();
            if (t.scales() != null) assertThat(t.scales().offset() % 64).isZero();
        }
    }
}
