package grokkit.cli;

import grokkit.cli.ExportCommandTest.Result;
import grokkit.gguf.GgmlType;
import grokkit.gguf.GgufFile;
import grokkit.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static grokkit.cli.ExportCommandTest.export;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The channel folds (docs/EXPORT.md, "Channel folds") are exact rewrites: an f32 export with
 * them computes the same MoE layer as one without, for the router and for every expert, while
 * its tensors do differ (the fold is not a no-op). Checked on the f32 tensors of two exports of
 * tiny-12l read back through the GGUF reader, on random normalised inputs.
 */
class ChannelFoldExportTest {
    @TempDir
    Path tmp;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One f32 GGUF, mapped. */
    private record Gguf(GgufFile g, MemorySegment data) {
        float[] tensor(String name, int unit) {
            GgufTensorInfo t = g.tensor(name);
            assertThat(t).as(name).isNotNull();
            assertThat(t.type()).as(name).isEqualTo(GgmlType.F32);
            long per = t.ne(0) * (t.dims() > 1 ? t.ne(1) : 1);
            float[] out = new float[(int) per];
            long base = g.dataOffset(t) + 4L * per * unit;
            for (int i = 0; i < out.length; i++) out[i] = data.get(F32, base + 4L * i);
            return out;
        }
    }

    private static Gguf map(Path p, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return new Gguf(GgufFile.read(p), ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
        }
    }

    /** y = W·x for a ggml matrix {in, out} stored row after row. */
    private static double[] matvec(float[] w, int in, double[] x) {
        double[] y = new double[w.length / in];
        for (int o = 0; o < y.length; o++) {
            double s = 0;
            for (int i = 0; i < in; i++) s += (double) w[o * in + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    private static double gelu(double v) {
        return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    }

    /** The router logits and expert e's output for normalised input x: norm weight, router, gate, up, down. */
    private static double[][] moe(Gguf m, int layer, int e, double[] x) {
        String b = "blk." + layer + ".";
        float[] g = m.tensor(b + "ffn_norm.weight", 0);
        double[] h = new double[x.length];
        for (int i = 0; i < h.length; i++) h[i] = x[i] * g[i];
        double[] router = matvec(m.tensor(b + "ffn_gate_inp.weight", 0), h.length, h);
        double[] gate = matvec(m.tensor(b + "ffn_gate_exps.weight", e), h.length, h);
        double[] up = matvec(m.tensor(b + "ffn_up_exps.weight", e), h.length, h);
        double[] act = new double[gate.length];
        for (int j = 0; j < act.length; j++) act[j] = gelu(gate[j]) * up[j];
        double[] y = matvec(m.tensor(b + "ffn_down_exps.weight", e), act.length, act);
        return new double[][] {router, y};
    }

    private static double maxRel(double[] a, double[] b) {
        double scale = 0, d = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(a[i]));
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d / scale;
    }

    @Test
    void foldedF32ExportComputesTheSameMoeLayer() throws IOException {
        Path plain = tmp.resolve("plain.gguf"), folded = tmp.resolve("folded.gguf");
        Result a = export(plain, "--type", "f32", "--channel-folds", "none");
        Result b = export(folded, "--type", "f32", "--channel-folds", "down,norm");
        assertThat(a.exit()).as(a.err()).isZero();
        assertThat(b.exit()).as(b.err()).isZero();
        assertThat(a.out()).contains("channel folds: none");
        assertThat(b.out()).contains("channel folds: down,norm");
        try (Arena arena = Arena.ofConfined()) {
            Gguf p = map(plain, arena), f = map(folded, arena);
            assertThat(p.g().get("grok-kit.channel_folds")).as("no key without folds: exactly llama.cpp's keys").isNull();
            assertThat(f.g().get("grok-kit.channel_folds").asString()).isEqualTo("down,norm");
            // The fold moves magnitude between tensors: the norm weight, gate, up and down all change.
            for (String t : new String[] {"ffn_norm.weight", "ffn_gate_inp.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"})
                assertThat(f.tensor("blk.3." + t, 0)).as(t).isNotEqualTo(p.tensor("blk.3." + t, 0));
            // Everything else is untouched.
            assertThat(f.tensor("blk.3.attn_q.weight", 0)).isEqualTo(p.tensor("blk.3.attn_q.weight", 0));
            assertThat(f.tensor("blk.3.layer_output_norm.weight", 0)).isEqualTo(p.tensor("blk.3.layer_output_norm.weight", 0));
            Random rnd = new Random(7);
            for (int layer : new int[] {0, 5, 11}) {
                for (int e : new int[] {0, 3, 7}) {
                    double[] x = new double[96];
                    double ss = 0;
                    for (int i = 0; i < x.length; i++) ss += (x[i] = rnd.nextGaussian()) * x[i];
                    for (int i = 0; i < x.length; i++) x[i] /= Math.sqrt(ss / x.length);
                    double[][] want = moe(p, layer, e, x), got = moe(f, layer, e, x);
                    // f32 storage of the rescaled weights: a few ulps per weight, summed over 96-512 terms.
                    assertThat(maxRel(want[0], got[0])).as("router, layer %d", layer).isLessThan(1e-5);
                    assertThat(maxRel(want[1], got[1])).as("expert %d, layer %d", e, layer).isLessThan(1e-5);
                }
            }
        }
    }

    @Test
    void foldsDefaultToOnBelow8BitsAndBadValuesExit2() throws IOException {
        Path q4 = tmp.resolve("q4.gguf");
        Result r = export(q4, "--type", "q4_0");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("channel folds: down,norm");
        assertThat(GgufFile.read(q4).get("grok-kit.channel_folds").asString()).isEqualTo("down,norm");
        Path q8 = tmp.resolve("q8.gguf");
        r = export(q8, "--type", "q8_0");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("channel folds: none");
        Path bad = tmp.resolve("bad.gguf");
        r = export(bad, "--type", "q4_0", "--channel-folds", "sideways");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--channel-folds sideways");
        assertThat(Files.exists(bad)).isFalse();
    }
}
