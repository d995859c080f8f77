package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;
import grokkit.gguf.GgufFile;
import grokkit.gguf.GgufTensorInfo;
import grokkit.gguf.GgufValue;
import grokkit.gguf.GgufWriter;
import grokkit.shard.ShardWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * llama.cpp itself decodes our blocks exactly as our {@code dequantizeRow} does: a one-layer
 * {@code grok} GGUF whose eight weight matrices are each quantized by us to a different block
 * type goes through {@code llama-quantize --allow-requantize --pure ... F32}, which dequantizes
 * every tensor with ggml's own {@code to_float}; the F32 file must hold bit for bit what our
 * decoder gives for our bytes. Skipped (saying so) when {@code ../shared/llamacpp} is absent.
 */
class LlamaCppDecodesOurBlocksTest {
    @TempDir
    Path dir;

    /** {@code <grok.root>/../shared/llamacpp/bin/NAME} (or one level further up, from a worktree), or null. */
    static Path llamaCppTool(String name) {
        String root = System.getProperty("grok.root");
        if (root == null) return null;
        for (String up : new String[] {"..", "../.."}) {
            Path p = Path.of(root).resolve(up).resolve("shared/llamacpp/bin").resolve(name).normalize();
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    static final int EMB = 256, FF = 512, EXPERTS = 4, VOCAB = 64;

    /** name, ggml ne, type: every block type once, on the tensor roles llama-quantize expects of a grok layer. */
    static final Object[][] TENSORS = {
            {"token_embd.weight", new long[] {EMB, VOCAB}, GgmlType.Q6_K},
            {"blk.0.attn_q.weight", new long[] {EMB, EMB}, GgmlType.Q4_0},
            {"blk.0.attn_k.weight", new long[] {EMB, 128}, GgmlType.Q4_1},
            {"blk.0.attn_v.weight", new long[] {EMB, 128}, GgmlType.Q5_0},
            {"blk.0.attn_output.weight", new long[] {EMB, EMB}, GgmlType.Q5_1},
            {"blk.0.ffn_gate_exps.weight", new long[] {EMB, FF, EXPERTS}, GgmlType.IQ4_NL},
            {"blk.0.ffn_up_exps.weight", new long[] {EMB, FF, EXPERTS}, GgmlType.Q5_K},
            {"blk.0.ffn_down_exps.weight", new long[] {FF, EMB, EXPERTS}, GgmlType.Q4_K},
    };

    static final String[] NORMS = {"blk.0.attn_norm.weight", "blk.0.attn_output_norm.weight", "blk.0.ffn_norm.weight",
            "blk.0.layer_output_norm.weight", "output_norm.weight"};

    @Test
    void llamaQuantizeDequantizesOurBlocksToOurValues() throws Exception {
        Path quantize = llamaCppTool("llama-quantize");
        assumeTrue(quantize != null, "skipped: ../shared/llamacpp/bin/llama-quantize is absent");
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string("grok"));
        kv.put("grok.context_length", GgufValue.u32(256));
        kv.put("grok.embedding_length", GgufValue.u32(EMB));
        kv.put("grok.block_count", GgufValue.u32(1));
        kv.put("grok.feed_forward_length", GgufValue.u32(FF));
        kv.put("grok.expert_feed_forward_length", GgufValue.u32(FF));
        kv.put("grok.attention.head_count", GgufValue.u32(2));
        kv.put("grok.attention.head_count_kv", GgufValue.u32(1));
        kv.put("grok.attention.layer_norm_rms_epsilon", GgufValue.f32(1e-5f));
        kv.put("grok.expert_count", GgufValue.u32(EXPERTS));
        kv.put("grok.expert_used_count", GgufValue.u32(2));
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (String n : NORMS) tensors.add(new GgufWriter.Tensor(n, new long[] {EMB}, GgmlType.F32));
        tensors.add(new GgufWriter.Tensor("blk.0.ffn_gate_inp.weight", new long[] {EMB, EXPERTS}, GgmlType.F32));
        for (Object[] t : TENSORS) tensors.add(new GgufWriter.Tensor((String) t[0], (long[]) t[1], (GgmlType) t[2]));

        Random r = new Random(5);
        Map<String, float[]> ours = new LinkedHashMap<>();
        Path in = dir.resolve("ours.gguf");
        try (GgufWriter w = new GgufWriter(in, kv, tensors, 64, ShardWriter.FILES)) {
            for (int i = 0; i < tensors.size(); i++) {
                GgufWriter.Tensor t = tensors.get(i);
                long n = 1;
                for (long d : t.ne()) n *= d;
                int rowLen = (int) t.ne()[0], rows = (int) (n / rowLen);
                w.beginTensor(i);
                float[] decoded = new float[(int) n];
                for (int row = 0; row < rows; row++) {
                    float[] x = QuantBlockCodecsTest.heavyRow(r, rowLen);
                    float[] imp = row % 2 == 0 ? null : importance(r, rowLen);
                    byte[] b = new byte[(int) t.type().rowBytes(rowLen)];
                    t.type().codec().quantizeRow(x, 0, rowLen, imp, b, 0);
                    t.type().codec().dequantizeRow(b, 0, rowLen, decoded, row * rowLen);
                    w.write(b, 0, b.length);
                }
                ours.put(t.name(), decoded);
            }
            w.commit();
        }

        Path out = dir.resolve("f32.gguf");
        Process p = new ProcessBuilder(quantize.toString(), "--allow-requantize", "--pure", in.toString(), out.toString(), "F32", "1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("quantize.log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("llama-quantize exit status; log:\n%s", Files.readString(dir.resolve("quantize.log"))).isZero();

        GgufFile f = GgufFile.read(out);
        try (RandomAccessFile raf = new RandomAccessFile(out.toFile(), "r")) {
            for (Object[] t : TENSORS) {
                String name = (String) t[0];
                GgufTensorInfo info = f.tensor(name);
                assertThat(info.type()).as(name).isEqualTo(GgmlType.F32);
                byte[] raw = new byte[(int) info.bytes()];
                raf.seek(f.dataOffset(info));
                raf.readFully(raw);
                float[] theirs = new float[raw.length / 4];
                ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(theirs);
                float[] mine = ours.get(name);
                assertThat(theirs.length).isEqualTo(mine.length);
                for (int i = 0; i < mine.length; i++)
                    if (Float.floatToRawIntBits(theirs[i]) != Float.floatToRawIntBits(mine[i]))
                        throw new AssertionError(t[2] + " " + name + " value " + i + ": llama.cpp decodes " + theirs[i] + ", ours " + mine[i]);
            }
        }
    }

    static float[] importance(Random r, int n) {
        float[] imp = new float[n];
        for (int i = 0; i < n; i++) imp[i] = (float) Math.exp(2 * r.nextGaussian());
        return imp;
    }
}
