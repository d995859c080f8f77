package grokkit.cli;

import grokkit.checkpoint.ArrayDescriptor;
import grokkit.checkpoint.Checkpoint;
import grokkit.checkpoint.CheckpointTensor;
import grokkit.errors.ExitCodes;
import grokkit.gguf.GgmlType;
import grokkit.gguf.GgufFile;
import grokkit.gguf.GgufTensorInfo;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Halfs;
import grokkit.tokenizer.ModelProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code grok export} and {@code grok inspect FILE.gguf} on the committed 12-layer fixture,
 * without llama.cpp: the GGUF's tensors hold the checkpoint's values in ggml's orientation
 * (checked against the raw pickled arrays, not through the export's own reader), keys,
 * tokenizer, splits, determinism, and bad input (exit 2, nothing under the final name).
 */
class ExportCommandTest {
    @TempDir
    Path tmp;

    static final Path ROOT = Path.of(System.getProperty("grok.root", "."));
    static final Path FIXTURE = ROOT.resolve("golden-tests/fixtures/tiny-12l");
    static final Path TOKENIZER = ROOT.resolve("golden-tests/fixtures/tokenizer/tiny.model");

    record Result(int exit, String out, String err) {}

    static Result grok(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = GrokCli.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    static Result export(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("export", FIXTURE.resolve("ckpt-0").toString(), out.toString(),
                "--model-config", FIXTURE.resolve("config.json").toString()));
        a.addAll(List.of(extra));
        if (!a.contains("--threads")) a.addAll(List.of("--threads", "2"));
        return grok(a.toArray(String[]::new));
    }

    /** W[i, o] of expert e (or -1) straight from the pickled arrays: int8 · bf16 scale of the row block. */
    private static float sourceWeight(Checkpoint ck, MemorySegment w, MemorySegment s, CheckpointTensor t, int e, int i, int o) {
        long[] shape = t.weight().shape();
        int in = (int) shape[shape.length - 2], out = (int) shape[shape.length - 1];
        int blocks = t.scaleRowBlocks(), b = i / (in / blocks);
        long base = e < 0 ? 0 : (long) e * in * out;
        byte q = w.get(ValueLayout.JAVA_BYTE, base + (long) i * out + o);
        short sc = s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2 * ((e < 0 ? 0 : (long) e * blocks * out) + (long) b * out + o));
        return q * Halfs.bf16ToFloat(sc);
    }

    private static float ggufF32(MemorySegment file, GgufFile g, String name, long... index) {
        GgufTensorInfo t = g.tensor(name);
        assertThat(t).as(name).isNotNull();
        assertThat(t.type()).isEqualTo(GgmlType.F32);
        long flat = 0, stride = 1;
        for (int d = 0; d < index.length; d++) {
            flat += index[d] * stride;
            stride *= t.ne(d);
        }
        return file.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), g.dataOffset(t) + 4 * flat);
    }

    @Test
    void f32ExportHoldsTheCheckpointInGgmlOrientation() throws IOException {
        Path out = tmp.resolve("tiny-f32.gguf");
        Result r = export(out, "--type", "f32", "--tokenizer", TOKENIZER.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("types: experts f32, attention f32, embedding/output f32", "tokenizer: SentencePiece tiny.model: 512 pieces", "wrote ");
        assertThat(r.err()).contains("exported ").contains("/s, ETA");
        GgufFile g = GgufFile.read(out);
        ModelConfig c = ModelConfig.read(FIXTURE.resolve("config.json"), ModelConfig.grok1()).config();
        assertThat(g.tensors()).hasSize(2 + 12 * c.numLayers());
        assertThat(g.alignment()).isEqualTo(64);
        assertThat(g.get("general.architecture").asString()).isEqualTo("grok");
        assertThat(g.get("grok.block_count").asLong()).isEqualTo(12);
        assertThat(g.get("grok.attention.head_count").asLong()).isEqualTo(6);
        assertThat(g.get("grok.attention.head_count_kv").asLong()).isEqualTo(2);
        assertThat(g.get("grok.rope.dimension_count").asLong()).isEqualTo(16);
        assertThat(g.get("grok.expert_feed_forward_length").asLong()).isEqualTo(512);
        assertThat((float) g.get("grok.embedding_scale").asDouble()).isEqualTo((float) c.embeddingMultiplierScale());
        assertThat((float) g.get("grok.attention.output_scale").asDouble()).isEqualTo(0.25f);
        assertThat((float) g.get("grok.logit_scale").asDouble()).isEqualTo((float) c.outputMultiplierScale());
        assertThat((float) g.get("grok.attn_logit_softcapping").asDouble()).isEqualTo(30f);
        ModelProto tok = ModelProto.read(TOKENIZER);
        List<?> tokens = (List<?>) g.get("tokenizer.ggml.tokens").value();
        assertThat(tokens).hasSize(512);
        for (int i = 0; i < 512; i += 37) assertThat(tokens.get(i)).isEqualTo(tok.pieces().get(i).piece());
        assertThat(((float[]) g.get("tokenizer.ggml.scores").value())[300]).isEqualTo(tok.pieces().get(300).score());
        assertThat(g.get("tokenizer.ggml.bos_token_id").asLong()).isEqualTo(1);

        try (Checkpoint ck = Checkpoint.open(FIXTURE.resolve("ckpt-0"), ModelConfig.read(FIXTURE.resolve("config.json"), ModelConfig.grok1()));
             Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(out, StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            java.util.Random rnd = new java.util.Random(5);
            // Layers 2 and 10: the checkpoint stores them out of numeric order (file order 0, 1, 10, 11, 2, ...).
            for (int layer : new int[] {2, 10}) {
                String[][] pairs = {{"attn_q", ParamNames.ATTN_QUERY}, {"attn_k", ParamNames.ATTN_KEY}, {"attn_v", ParamNames.ATTN_VALUE},
                        {"attn_output", ParamNames.ATTN_OUT}};
                for (String[] p : pairs) {
                    CheckpointTensor t = ck.tensor(ParamNames.layer(layer, p[1]));
                    MemorySegment w = ck.map(t.weight(), arena), s = ck.map(t.scales(), arena);
                    long[] shape = t.weight().shape();
                    for (int k = 0; k < 40; k++) {
                        int i = rnd.nextInt((int) shape[0]), o = rnd.nextInt((int) shape[1]);
                        assertThat(ggufF32(file, g, "blk." + layer + "." + p[0] + ".weight", i, o)).as("%s %d %d", p[0], i, o)
                                .isEqualTo(sourceWeight(ck, w, s, t, -1, i, o));
                    }
                }
                String[][] experts = {{"ffn_gate_exps", ParamNames.MOE_LINEAR}, {"ffn_up_exps", ParamNames.MOE_LINEAR_V}, {"ffn_down_exps", ParamNames.MOE_LINEAR_1}};
                for (String[] p : experts) {
                    CheckpointTensor t = ck.tensor(ParamNames.layer(layer, p[1]));
                    MemorySegment w = ck.map(t.weight(), arena), s = ck.map(t.scales(), arena);
                    long[] shape = t.weight().shape();
                    for (int k = 0; k < 60; k++) {
                        int e = rnd.nextInt((int) shape[0]), i = rnd.nextInt((int) shape[1]), o = rnd.nextInt((int) shape[2]);
                        assertThat(ggufF32(file, g, "blk." + layer + "." + p[0] + ".weight", i, o, e)).as("%s e%d %d %d", p[0], e, i, o)
                                .isEqualTo(sourceWeight(ck, w, s, t, e, i, o));
                    }
                }
                CheckpointTensor router = ck.tensor(ParamNames.layer(layer, ParamNames.ROUTER));
                MemorySegment rw = ck.map(router.weight(), arena);
                for (int i = 0; i < 96; i += 7)
                    for (int e = 0; e < 8; e++)
                        assertThat(ggufF32(file, g, "blk." + layer + ".ffn_gate_inp.weight", i, e)).isEqualTo(rw.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (i * 8 + e)));
                String[][] norms = {{"attn_norm", ParamNames.NORM_PRE_ATTN}, {"attn_output_norm", ParamNames.NORM_POST_ATTN},
                        {"ffn_norm", ParamNames.NORM_PRE_MOE}, {"layer_output_norm", ParamNames.NORM_POST_MOE}};
                for (String[] p : norms) {
                    MemorySegment v = ck.map(ck.tensor(ParamNames.layer(layer, p[1])).weight(), arena);
                    for (int i = 0; i < 96; i += 5)
                        assertThat(ggufF32(file, g, "blk." + layer + "." + p[0] + ".weight", i)).as(p[0]).isEqualTo(v.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * i));
                }
            }
            MemorySegment emb = ck.map(ck.tensor(ParamNames.EMBEDDINGS).weight(), arena);
            for (int k = 0; k < 50; k++) {
                int tkn = rnd.nextInt(512), i = rnd.nextInt(96);
                assertThat(ggufF32(file, g, "token_embd.weight", i, tkn)).isEqualTo(emb.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (tkn * 96 + i)));
            }
            assertThat(g.tensor("output.weight")).as("the output head is tied to token_embd").isNull();
        }
    }

    @Test
    void q8_0ExportIsDeterministicAcrossThreadCountsAndInspects() throws IOException {
        Path a = tmp.resolve("a.gguf"), b = tmp.resolve("b.gguf");
        assertThat(export(a, "--type", "q8_0", "--threads", "1").exit()).isZero();
        Result rb = export(b, "--type", "q8_0", "--threads", "3");
        assertThat(rb.exit()).as(rb.err()).isZero();
        assertThat(rb.out()).contains("placeholder vocabulary of 512 pieces");
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        Result in = grok("inspect", a.toString());
        assertThat(in.exit()).as(in.err()).isZero();
        assertThat(in.out()).contains("GGUF " + a, "version 3", "alignment 64", "blk.11.ffn_down_exps.weight", "{512, 96, 8}",
                "q8_0", "8.500", "grok.expert_count", "total");
        GgufFile g = GgufFile.read(a);
        assertThat(g.tensor("blk.3.ffn_gate_inp.weight").type()).isEqualTo(GgmlType.F32);
        assertThat(g.tensor("blk.3.ffn_norm.weight").type()).isEqualTo(GgmlType.F32);
        assertThat(g.tensor("blk.3.attn_k.weight").type()).isEqualTo(GgmlType.Q8_0);
        assertThat(g.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
    }

    @Test
    void overridesAndFallbacksAreReported() throws IOException {
        Path out = tmp.resolve("mix.gguf");
        Result r = export(out, "--type", "bf16", "--attention-type", "f16", "--embedding-type", "f32");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("types: experts bf16, attention f16, embedding/output f32");
        GgufFile g = GgufFile.read(out);
        assertThat(g.tensor("blk.0.ffn_up_exps.weight").type()).isEqualTo(GgmlType.BF16);
        assertThat(g.tensor("blk.0.attn_output.weight").type()).isEqualTo(GgmlType.F16);
        assertThat(g.tensor("token_embd.weight").type()).isEqualTo(GgmlType.F32);
        // The attention rows of 96 do not fit a 256-value K-quant block; the fallback is llama-quantize's.
        grokkit.export.TypeMix mix = grokkit.export.TypeMix.of(GgmlType.Q6_K, null, null);
        assertThat(mix.choose(grokkit.export.TensorClass.EXPERT, 96).type()).isEqualTo(GgmlType.Q8_0);
        assertThat(mix.choose(grokkit.export.TensorClass.EXPERT, 96).fallbackNote()).contains("96", "q6_k", "256", "q8_0");
        assertThat(mix.choose(grokkit.export.TensorClass.EXPERT, 512).type()).isEqualTo(GgmlType.Q6_K);
        assertThat(grokkit.export.TypeMix.of(GgmlType.Q8_0, null, null).choose(grokkit.export.TensorClass.EXPERT, 344).type()).isEqualTo(GgmlType.F16);
    }

    @Test
    void splitFilesFollowLlamaCppsConventionAndHoldTheSameTensors() throws IOException {
        Path whole = tmp.resolve("whole.gguf");
        assertThat(export(whole, "--type", "q8_0").exit()).isZero();
        Path out = tmp.resolve("split.gguf");
        Result r = export(out, "--type", "q8_0", "--split-max-size", "4M");
        assertThat(r.exit()).as(r.err()).isZero();
        List<Path> files;
        try (Stream<Path> s = Files.list(tmp)) {
            files = s.filter(p -> p.getFileName().toString().startsWith("split-")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThan(2);
        int n = files.size();
        assertThat(Files.exists(out)).isFalse();
        GgufFile w = GgufFile.read(whole);
        byte[] wholeBytes = Files.readAllBytes(whole);
        List<String> names = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            assertThat(files.get(k).getFileName().toString()).isEqualTo(String.format("split-%05d-of-%05d.gguf", k + 1, n));
            GgufFile g = GgufFile.read(files.get(k));
            assertThat(g.get("split.no").asLong()).isEqualTo(k);
            assertThat(g.get("split.count").asLong()).isEqualTo(n);
            assertThat(g.get("split.tensors.count").asLong()).isEqualTo(w.tensors().size());
            assertThat(g.get("general.architecture") != null).isEqualTo(k == 0);
            long data = 0;
            byte[] bytes = Files.readAllBytes(files.get(k));
            for (GgufTensorInfo t : g.tensors()) {
                names.add(t.name());
                data += grokkit.gguf.GgufWriter.pad(t.bytes(), 64);
                GgufTensorInfo wt = w.tensor(t.name());
                assertThat(Arrays.copyOfRange(bytes, (int) g.dataOffset(t), (int) (g.dataOffset(t) + t.bytes())))
                        .isEqualTo(Arrays.copyOfRange(wholeBytes, (int) w.dataOffset(wt), (int) (w.dataOffset(wt) + wt.bytes())));
            }
            assertThat(data).isLessThanOrEqualTo(4_000_000L);
        }
        assertThat(names).isEqualTo(w.tensors().stream().map(GgufTensorInfo::name).toList());
    }

    @Test
    void convertedModelExportsTheSameBytesAsItsCheckpointWithItsTokenizer() throws IOException {
        Path model = tmp.resolve("converted");
        Result c = grok("convert", FIXTURE.resolve("ckpt-0").toString(), model.toString(), "--model-config",
                FIXTURE.resolve("config.json").toString(), "--tokenizer", TOKENIZER.toString(), "--threads", "2");
        assertThat(c.exit()).as(c.err()).isZero();
        for (String type : new String[] {"f32", "q8_0"}) {
            Path a = tmp.resolve("ckpt-" + type + ".gguf"), b = tmp.resolve("conv-" + type + ".gguf");
            assertThat(export(a, "--type", type, "--tokenizer", TOKENIZER.toString()).exit()).isZero();
            Result r = grok("export", model.toString(), b.toString(), "--type", type, "--threads", "2");
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains("tokenizer: SentencePiece tiny.model");
            assertThat(Files.readAllBytes(b)).as(type).isEqualTo(Files.readAllBytes(a));
        }
        Result r = grok("export", model.toString(), tmp.resolve("x.gguf").toString(), "--model-config", FIXTURE.resolve("config.json").toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("is a converted model");
    }

    // ---- bad input

    @Test
    void badOptionsExit2AndWriteNothing() throws IOException {
        Path out = tmp.resolve("bad.gguf");
        Result r = export(out, "--type", "q3_k");
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--type q3_k: unknown type");
        r = export(out, "--type", "q8_0", "--split-max-size", "lots");
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--split-max-size lots");
        r = export(out, "--type", "q8_0", "--tokenizer", ROOT.resolve("golden-tests/fixtures/tokenizer/tok-bpe.model").toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("1200 pieces", "vocab_size is 512");
        r = export(tmp.resolve("no/such/dir/x.gguf"), "--type", "f32");
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("does not exist");
        r = grok("export", tmp.resolve("nothing-here").toString(), out.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("nothing-here");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void existingOutputIsRefused() throws IOException {
        Path out = Files.writeString(tmp.resolve("taken.gguf"), "mine");
        Result r = export(out, "--type", "f32");
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains(out + ": already exists");
        assertThat(out).hasContent("mine");
    }

    @Test
    void imatrixOfAnotherModelIsRefusedBeforeWriting() throws IOException {
        Path im = tmp.resolve("im.json");
        new grokkit.quant.Imatrix(3, 8, 64, 344, new long[3][8], new float[24][64], new float[24][344], "test").write(im);
        Path out = tmp.resolve("im.gguf");
        Result r = export(out, "--type", "q8_0", "--imatrix", im.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains(im.toString(), "layers=3");
        assertThat(Files.exists(out)).isFalse();
        assertThat(Files.exists(Path.of(out + ".partial"))).isFalse();
    }

    // ---- grok inspect FILE.gguf refusals

    private Path exported() throws IOException {
        Path out = tmp.resolve("ok.gguf");
        if (!Files.exists(out)) assertThat(export(out, "--type", "q8_0").exit()).isZero();
        return out;
    }

    private void assertRefused(Path f, String problem) {
        Result r = grok("inspect", f.toString());
        assertThat(r.exit()).as(r.out()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains(f.toString(), problem);
    }

    @Test
    void inspectRefusesTruncatedBadMagicOffsetPastEndAndUnknownType() throws IOException {
        byte[] good = Files.readAllBytes(exported());
        GgufFile g = GgufFile.read(exported());

        Path truncated = Files.write(tmp.resolve("truncated.gguf"), Arrays.copyOf(good, good.length - 1000));
        assertRefused(truncated, "truncated");

        byte[] magic = good.clone();
        magic[0] = 'X';
        assertRefused(Files.write(tmp.resolve("magic.gguf"), magic), "bad magic");

        // The last tensor's info record: name, dims, ne..., type, offset (the header ends there).
        GgufTensorInfo last = g.tensors().getLast();
        int infoEnd = (int) headerEnd(good, g);
        int offsetAt = infoEnd - 8, typeAt = infoEnd - 12;
        byte[] past = good.clone();
        ByteBuffer.wrap(past).order(ByteOrder.LITTLE_ENDIAN).putLong(offsetAt, last.offset() + (1L << 30));
        assertRefused(Files.write(tmp.resolve("offset.gguf"), past), last.name());

        byte[] type = good.clone();
        ByteBuffer.wrap(type).order(ByteOrder.LITTLE_ENDIAN).putInt(typeAt, 77);
        assertRefused(Files.write(tmp.resolve("type.gguf"), type), "unknown ggml type id 77");
    }

    /** The byte after the last tensor-info record (the data starts at the next multiple of 64). */
    private static long headerEnd(byte[] file, GgufFile g) {
        GgufTensorInfo last = g.tensors().getLast();
        byte[] name = last.name().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = file.length - name.length; i >= 0; i--) {
            if (i > g.dataStart()) continue;
            boolean match = true;
            for (int k = 0; k < name.length && match; k++) match = file[i + k] == name[k];
            if (match) return i + name.length + 4 + 8L * last.dims() + 4 + 8;
        }
        throw new AssertionError("no info record for " + last.name());
    }
}
