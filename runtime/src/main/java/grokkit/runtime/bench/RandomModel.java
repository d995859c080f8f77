package grokkit.runtime.bench;

import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.Encoding;
import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.Kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A Grok-shaped model with random weights, laid out off-heap in a chosen encoding exactly as
 * the sharded format lays out a matrix (out-major weights region + scales region) and served by
 * the Vector API kernels: for benchmarks of shapes we have no checkpoint for (the small Grok
 * shape llama.cpp is compared on, or Grok-1's full widths). Weights are scaled so activations
 * keep O(1) magnitudes; their values are otherwise meaningless.
 */
public final class RandomModel implements ModelWeights {
    /** 1 MiB of random bytes, copied over every region: fast to build, same speed as unique data. */
    private static final int PATTERN = 1 << 20;

    private final ModelConfig config;
    private final String encoding;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pattern;
    private final Map<String, WeightMatrix> matrices = new HashMap<>();
    private final Map<String, float[]> vectors = new HashMap<>();
    private final WeightMatrix embeddings;
    private long bytes;

    /** The small Grok shape of the llama.cpp comparison: emb 2048, 16 q / 4 kv heads of 128, ffn 8192, 8 experts top-2, 4 layers, vocab 32000. */
    public static ModelConfig smallGrokShape() {
        ModelConfig g = ModelConfig.grok1();
        return new ModelConfig(32000, 2048, 128, 16, 4, 4, 8, 2, 8.0, 8192,
                g.embeddingMultiplierScale(), g.outputMultiplierScale(), 1 / Math.sqrt(128), g.attnLogitCap(),
                g.rmsNormEps(), g.ropeBase(), g.padToken(), g.eosToken(), g.sequenceLen());
    }

    /** A shape small enough for smoke tests: emb 256, 2 q / 1 kv heads of 128, ffn 512, 4 experts top-2, 2 layers, vocab 1000. */
    public static ModelConfig miniShape() {
        ModelConfig g = ModelConfig.grok1();
        return new ModelConfig(1000, 256, 128, 2, 1, 2, 4, 2, 8.0, 512,
                g.embeddingMultiplierScale(), g.outputMultiplierScale(), 1 / Math.sqrt(128), g.attnLogitCap(),
                g.rmsNormEps(), g.ropeBase(), g.padToken(), g.eosToken(), g.sequenceLen());
    }

    /** Grok-1's widths with {@code layers} layers. */
    public static ModelConfig grok1Widths(int layers) {
        ModelConfig g = ModelConfig.grok1();
        return new ModelConfig(g.vocabSize(), g.embSize(), g.keySize(), g.numQHeads(), g.numKvHeads(), layers,
                g.numExperts(), g.numSelectedExperts(), g.wideningFactor(), g.ffnSize(), g.embeddingMultiplierScale(),
                g.outputMultiplierScale(), g.attnOutputMultiplier(), g.attnLogitCap(), g.rmsNormEps(), g.ropeBase(),
                g.padToken(), g.eosToken(), g.sequenceLen());
    }

    /**
     * The spec for a matrix of this encoding name: {@code int8} (xAI's int8 with bf16 scales:
     * 8 row blocks for the attention output and expert down projections, per column otherwise),
     * {@code q8} (groups of 32, f16 scales, like llama.cpp's Q8_0), {@code q4} (32, bf16),
     * {@code q4_0}, {@code q4nl} or {@code int4} (q4nl, G = 32: the converter's default int4),
     * {@code bf16}, {@code f32}.
     */
    public static EncodingSpec spec(String encoding, int in, boolean rowBlockSharded) {
        Encoding e = Encoding.lookup(encoding.toLowerCase(Locale.ROOT));
        if (e == null) throw new IllegalArgumentException("unknown encoding '" + encoding + "' (" + Encoding.known() + ")");
        return spec(e, in, rowBlockSharded);
    }

    /** As {@link #spec(String, int, boolean)}, for a parsed encoding. */
    public static EncodingSpec spec(Encoding encoding, int in, boolean rowBlockSharded) {
        return switch (encoding) {
            case INT8_ROWBLOCK -> EncodingSpec.int8RowBlock(in, rowBlockSharded ? 8 : 1);
            case Q8 -> EncodingSpec.q8(32, "f16");
            case Q4 -> EncodingSpec.q4(32, "bf16");
            case Q4_0 -> EncodingSpec.q4_0();
            case Q4NL -> EncodingSpec.q4nl(32);
            case BF16 -> EncodingSpec.bf16();
            case F32 -> EncodingSpec.f32();
        };
    }

    /**
     * @param encoding           for attention and expert matrices
     * @param embeddingEncoding  for the tied embedding / output matrix
     */
    public RandomModel(ModelConfig config, String encoding, String embeddingEncoding, long seed) {
        this.config = config;
        this.encoding = encoding;
        SplittableRandom r = new SplittableRandom(seed);
        pattern = arena.allocate(PATTERN, 64);
        for (long i = 0; i < PATTERN; i += 8) pattern.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        int emb = config.embSize(), q = config.numQHeads() * config.keySize(), kv = config.numKvHeads() * config.keySize();
        embeddings = random(spec(embeddingEncoding, emb, false), emb, config.vocabSize());
        vectors.put(ParamNames.FINAL_NORM, ones(emb));
        for (int l = 0; l < config.numLayers(); l++) {
            for (String p : new String[] {ParamNames.NORM_PRE_ATTN, ParamNames.NORM_POST_ATTN, ParamNames.NORM_PRE_MOE, ParamNames.NORM_POST_MOE})
                vectors.put(ParamNames.layer(l, p), ones(emb));
            put(ParamNames.layer(l, ParamNames.ATTN_QUERY), random(spec(encoding, emb, false), emb, q));
            put(ParamNames.layer(l, ParamNames.ATTN_KEY), random(spec(encoding, emb, false), emb, kv));
            put(ParamNames.layer(l, ParamNames.ATTN_VALUE), random(spec(encoding, emb, false), emb, kv));
            put(ParamNames.layer(l, ParamNames.ATTN_OUT), random(spec(encoding, q, true), q, emb));
            put(ParamNames.layer(l, ParamNames.ROUTER), random(EncodingSpec.f32(), emb, config.numExperts()));
            for (int e = 0; e < config.numExperts(); e++) {
                put(key(ParamNames.layer(l, ParamNames.MOE_LINEAR), e), random(spec(encoding, emb, false), emb, config.ffnSize()));
                put(key(ParamNames.layer(l, ParamNames.MOE_LINEAR_V), e), random(spec(encoding, emb, false), emb, config.ffnSize()));
                put(key(ParamNames.layer(l, ParamNames.MOE_LINEAR_1), e), random(spec(encoding, config.ffnSize(), true), config.ffnSize(), emb));
            }
        }
    }

    private static String key(String name, int expert) {
        return name + "#" + expert;
    }

    private void put(String name, WeightMatrix m) {
        matrices.put(name, m);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    /** A matrix whose entries have standard deviation about 1/√in, in {@code spec}'s layout. */
    private WeightMatrix random(EncodingSpec spec, int in, int out) {
        long wBytes = spec.weightBytes(in, out), sBytes = spec.scaleBytes(in, out);
        MemorySegment w = arena.allocate(Math.max(64, wBytes), 64);
        MemorySegment s = sBytes == 0 ? MemorySegment.NULL : arena.allocate(sBytes, 64);
        float std = (float) (1 / Math.sqrt(in));
        switch (spec.encoding()) {
            case null -> throw new NullPointerException(); // with case null, the compiler checks that every Encoding is handled
            case F32 -> {
                // 64 Ki distinct values tiled: Grok-1's f32 embedding table is 805 M floats.
                SplittableRandom r = new SplittableRandom(in * 31L + out);
                float[] vals = new float[65536];
                for (int i = 0; i < vals.length; i++) vals[i] = (float) (r.nextGaussian() * std);
                tile(w, MemorySegment.ofArray(vals));
            }
            case BF16 -> {
                // Random bf16 bit patterns would include NaNs and huge values: use a few fixed magnitudes.
                SplittableRandom r = new SplittableRandom(in * 31L + out);
                short[] vals = new short[4096];
                for (int i = 0; i < vals.length; i++) vals[i] = (short) (Float.floatToRawIntBits((float) (r.nextGaussian() * std)) >>> 16);
                MemorySegment block = MemorySegment.ofArray(vals);
                tile(w, block);
            }
            case Q4NL -> {
                tile(w, pattern);
                // Header: base S, channel scales c = 1 (f16); then group-scale bytes 0 = +S.
                // The levels' standard deviation is about 65.
                s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 0, std / 65f);
                for (int i = 0; i < in; i++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 4 + 2L * i, Float.floatToFloat16(1f));
                long head = grokkit.quant.Q4Nl.headerBytes(in);
                s.asSlice(head, sBytes - head).fill((byte) 0);
            }
            case INT8_ROWBLOCK, Q8, Q4, Q4_0 -> {
                tile(w, pattern);
                // int8: uniform in [-128, 127] has std ≈ 74; a 4-bit code q-8 in [-8, 7] has std ≈ 4.6.
                boolean fourBit = spec.encoding().fidelity() == Encoding.Fidelity.FOUR_BIT;
                float scale = std / (fourBit ? 4.6f : 74f);
                short bits = "f16".equals(spec.scaleType()) ? Float.floatToFloat16(scale)
                        : (short) (Float.floatToRawIntBits(scale) >>> 16);
                short[] block = new short[32768];
                java.util.Arrays.fill(block, bits);
                tile(s, MemorySegment.ofArray(block));
            }
        }
        bytes += wBytes + sBytes;
        return Kernels.open(spec, w, s, in, out);
    }

    private static void tile(MemorySegment dst, MemorySegment block) {
        long n = dst.byteSize(), b = block.byteSize();
        for (long off = 0; off < n; off += b) MemorySegment.copy(block, 0, dst, off, Math.min(b, n - off));
    }

    /** Bytes of weights and scales held. */
    public long bytes() {
        return bytes;
    }

    public String encoding() {
        return encoding;
    }

    @Override public ModelConfig config() { return config; }
    @Override public WeightMatrix embeddings() { return embeddings; }
    @Override public float[] vector(String name) { return vectors.get(name); }
    @Override public WeightMatrix matrix(String name) { return matrices.get(name); }
    @Override public WeightMatrix expert(String name, int expert) { return matrices.get(key(name, expert)); }

    @Override
    public void close() {
        arena.close();
    }
}
