package grokkit.convert;

import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Halfs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small Grok-1-shaped checkpoint held in memory, with xAI's layouts: int8 weights with bf16
 * scales per column ({@code [..., 1, N]}) or per 8 row blocks ({@code [..., 8, N]}), float32
 * embeddings, norms and router. Deterministic for a seed.
 */
final class SyntheticSource implements ConversionSource {
    final ModelConfig config;
    final List<SourceTensor> tensors = new ArrayList<>();

    SyntheticSource(long seed) {
        this(seed, 256, 64, 2, 4, 128);
    }

    SyntheticSource(long seed, int vocab, int emb, int layers, int experts, int ffn) {
        config = new ModelConfig(vocab, emb, 16, 4, 2, layers, experts, 2, 8.0, ffn,
                78.38367176906169, 0.5773502691896257, 0.25, 30.0, 1e-5, 10000.0, 0, 2, 128);
        SplittableRandom r = new SplittableRandom(seed);
        int kv = 2 * 16;
        for (String name : ParamNames.checkpointOrder(layers)) {
            String p = ParamNames.paramOf(name);
            SourceTensor t = switch (p) {
                case ParamNames.EMBEDDINGS -> f32(name, r, vocab, emb);
                case ParamNames.FINAL_NORM -> f32(name, r, emb);
                case ParamNames.MOE_LINEAR, ParamNames.MOE_LINEAR_V -> int8(name, r, 1, experts, emb, ffn);
                case ParamNames.MOE_LINEAR_1 -> int8(name, r, 8, experts, ffn, emb);
                case ParamNames.ATTN_QUERY -> int8(name, r, 1, 0, emb, emb);
                case ParamNames.ATTN_KEY, ParamNames.ATTN_VALUE -> int8(name, r, 1, 0, emb, kv);
                case ParamNames.ATTN_OUT -> int8(name, r, 8, 0, emb, emb);
                case ParamNames.ROUTER -> f32(name, r, emb, experts);
                default -> f32(name, r, emb); // the four per-layer norms
            };
            tensors.add(t);
        }
    }

    private static SourceTensor f32(String name, SplittableRandom r, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        MemorySegment m = MemorySegment.ofArray(new byte[Math.toIntExact(4 * n)]);
        for (long i = 0; i < n; i++) m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) (r.nextGaussian() * 0.05));
        return new SourceTensor(name, new SourceArray(m, SourceArray.Type.F32, shape, ByteOrder.LITTLE_ENDIAN), null);
    }

    /** int8 weight [experts?, in, out] with bf16 scales [experts?, blocks, out]. */
    private static SourceTensor int8(String name, SplittableRandom r, int blocks, int experts, int in, int out) {
        long[] ws = experts > 0 ? new long[] {experts, in, out} : new long[] {in, out};
        long[] ss = experts > 0 ? new long[] {experts, blocks, out} : new long[] {blocks, out};
        long n = (long) Math.max(experts, 1) * in * out;
        byte[] w = new byte[Math.toIntExact(n)];
        for (int i = 0; i < w.length; i++) {
            double g = r.nextGaussian() * 30;
            if (r.nextDouble() < 0.01) g *= 4;
            w[i] = (byte) Math.max(-127, Math.min(127, Math.round(g)));
        }
        long ns = (long) Math.max(experts, 1) * blocks * out;
        MemorySegment s = MemorySegment.ofArray(new byte[Math.toIntExact(2 * ns)]);
        for (long i = 0; i < ns; i++)
            s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Halfs.floatToBf16((float) (0.0005 + r.nextDouble() * 0.001)));
        return new SourceTensor(name,
                new SourceArray(MemorySegment.ofArray(w), SourceArray.Type.INT8, ws, ByteOrder.LITTLE_ENDIAN),
                new SourceArray(s, SourceArray.Type.BF16, ss, ByteOrder.LITTLE_ENDIAN));
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public List<String> configNotes() {
        return List.of();
    }

    @Override
    public List<SourceTensor> tensors() {
        return tensors;
    }
}
