package grokkit.runtime;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.WeightMatrix;

/**
 * The Grok-1 forward pass ({@code model.py} {@code LanguageModel.__call__}) over any
 * {@link ModelWeights}, computing in float32:
 * <ol>
 * <li>{@code h = E[token] · embedding_multiplier_scale};</li>
 * <li>per layer {@code h += rms_norm_1(attn(rms_norm(h)))}, {@code h += rms_norm_3(moe(rms_norm_2(h)))};</li>
 * <li>{@code logits = rms_norm_final(h) · Eᵀ · output_multiplier_scale}.</li>
 * </ol>
 * The weights stay wherever {@code ModelWeights} keeps them (mapped shards); the model holds only
 * references, and a {@link Session} holds activations and its KV cache.
 *
 * <p>Thread use: matrix products split their output rows over {@link RuntimeOptions#threads()}
 * threads. A model may serve several sessions, but their steps are serialised.
 */
public final class GrokModel implements AutoCloseable {
    private final ModelWeights weights;
    private final ModelConfig config;
    private final RuntimeOptions options;
    private final RowParallel parallel;
    private final LayerWeights[] layers;
    private final WeightMatrix embeddings;
    private final float[] finalNorm;
    private final float[] ropeInverseFrequencies;
    private final int maxContext;

    public GrokModel(ModelWeights weights, RuntimeOptions options) throws BadInputException {
        this.weights = weights;
        this.config = weights.config();
        this.options = options;
        try {
            config.validate("model configuration");
        } catch (BadInputException e) {
            throw e;
        } catch (java.io.IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        this.embeddings = LayerWeights.checkShape(weights.embeddings(), ParamNames.EMBEDDINGS, config.embSize(), config.vocabSize());
        this.finalNorm = LayerWeights.vector(weights, ParamNames.FINAL_NORM, config.embSize());
        if (config.numQHeads() * config.keySize() != config.embSize())
            throw new BadInputException("model configuration: num_q_heads × key_size = "
                    + config.numQHeads() * config.keySize() + " must equal emb_size " + config.embSize());
        this.layers = new LayerWeights[config.numLayers()];
        for (int l = 0; l < layers.length; l++) layers[l] = LayerWeights.load(weights, l);
        this.ropeInverseFrequencies = Ops.ropeInverseFrequencies(config.keySize(), config.ropeBase());
        int seq = config.sequenceLen() > 0 ? config.sequenceLen() : Integer.MAX_VALUE;
        this.maxContext = options.maxContext() > 0 ? Math.min(options.maxContext(), seq) : seq;
        this.parallel = new RowParallel(options.threads());
        if (options.warmUp()) warmUp();
    }

    public ModelConfig config() {
        return config;
    }

    public RuntimeOptions options() {
        return options;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** The most tokens one session may hold: {@code sequence_len}, or the smaller option limit. */
    public int maxContext() {
        return maxContext;
    }

    /** A new, empty generation session with its own KV cache. */
    public Session newSession() {
        return new Session(this);
    }

    /**
     * Logits of every position of a full forward pass over {@code tokens}: row t is the
     * next-token logits after {@code tokens[0..t]}, {@code [T, vocab_size]}.
     */
    public float[][] forward(int[] tokens) throws BadInputException {
        try (Session s = newSession()) {
            return s.forwardAll(tokens);
        }
    }

    /** Throws unless {@code tokens} is a non-empty list of valid ids that fits after {@code position}. */
    void checkTokens(int[] tokens, int position) throws BadInputException {
        if (tokens == null || tokens.length == 0) throw new BadInputException("tokens: the token list is empty");
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            if (t < 0 || t >= config.vocabSize())
                throw new BadInputException("tokens: token id " + t + " at index " + i
                        + " is out of range [0, " + config.vocabSize() + ") (vocab_size)");
        }
        if ((long) position + tokens.length > maxContext)
            throw new BadInputException("tokens: " + ((long) position + tokens.length) + " tokens exceed the context limit of "
                    + maxContext + " (sequence_len" + (position > 0 ? "; " + position + " already in the session" : "") + ")");
    }

    RowParallel parallel() {
        return parallel;
    }

    LayerWeights layer(int l) {
        return layers[l];
    }

    WeightMatrix embeddingMatrix() {
        return embeddings;
    }

    float[] finalNorm() {
        return finalNorm;
    }

    float[] ropeInverseFrequencies() {
        return ropeInverseFrequencies;
    }

    /**
     * Runs every kernel this model uses, and the Vector API loops of attention and gelu, on a few
     * rows of its real matrices until the JIT has compiled them, so that the first prompt runs at
     * full speed instead of spending seconds in interpreted vector code (a vector operation that
     * is not yet compiled allocates an object per operation). Reads only the first rows of each
     * distinct kind of matrix (by kernel, encoding and input width): cheap even for Grok-1.
     * Deterministic work, results discarded; safe to call more than once.
     *
     * @return nanoseconds spent
     */
    public long warmUp() {
        long t0 = System.nanoTime();
        java.util.Map<String, WeightMatrix> kinds = new java.util.LinkedHashMap<>();
        LayerWeights w = layers.length > 0 ? layers[0] : null;
        java.util.List<WeightMatrix> all = new java.util.ArrayList<>(java.util.List.of(embeddings));
        if (w != null) {
            all.addAll(java.util.List.of(w.query(), w.key(), w.value(), w.attnOut(), w.router()));
            all.addAll(java.util.List.of(w.moeLinear()[0], w.moeLinearV()[0], w.moeLinear1()[0]));
        }
        for (WeightMatrix m : all) kinds.putIfAbsent(m.getClass().getName() + "/" + m.encoding() + "/" + m.inDim(), m);
        WeightMatrix[] ms = kinds.values().toArray(WeightMatrix[]::new);
        // One matrix per task, spread over the pool: both threads compile-and-run at once.
        parallel.forRange(ms.length + 1, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                if (i < ms.length) warmUp(ms[i]);
                else warmUpVectorMath();
            }
        });
        return System.nanoTime() - t0;
    }

    /** Rows per warm-up product: two blocks of the widest row kernel (8 rows). */
    private static final int WARM_ROWS = 16;

    private static void warmUp(WeightMatrix m) {
        int rows = Math.min(m.outDim(), WARM_ROWS), in = m.inDim();
        java.util.SplittableRandom r = new java.util.SplittableRandom(in);
        float[][] x = new float[5][in], y = new float[5][rows];
        for (float[] row : x) for (int i = 0; i < in; i++) row[i] = (float) r.nextGaussian();
        float[][] one = {x[0]}, oneY = {y[0]};
        // Enough loop iterations for C2 (tens of thousands of back-edges) on any input width.
        int reps = Math.max(50, 400_000 / Math.max(1, in));
        for (int rep = 0; rep < reps; rep++) RowParallel.slice(m, one, oneY, 0, rows);
        for (int rep = 0; rep < Math.max(20, reps / 4); rep++) RowParallel.slice(m, x, y, 0, rows);
        float[] col = new float[in];
        for (int rep = 0; rep < 200; rep++) m.dequantizeColumn(rep % rows, col);
    }

    private void warmUpVectorMath() {
        int n = Math.max(config.keySize(), 64), ffn = 4096;
        float[] a = new float[n], b = new float[n], h = new float[ffn], u = new float[ffn];
        java.util.Arrays.fill(a, 0.5f);
        java.util.Arrays.fill(b, 0.25f);
        for (int rep = 0; rep < 20_000; rep++) {
            float d = VectorMath.dot(a, 0, b, 0, n);
            VectorMath.axpy(d * 1e-9f, a, 0, b, 0, n);
        }
        for (int rep = 0; rep < 200; rep++) {
            java.util.Arrays.fill(h, 0.1f);
            java.util.Arrays.fill(u, 1f);
            VectorMath.geluTimes(h, u, 0, ffn);
        }
    }

    /** Stops the worker threads. The weights belong to the caller and stay open. */
    @Override
    public void close() {
        parallel.close();
    }
}
