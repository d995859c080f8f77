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

    /** Stops the worker threads. The weights belong to the caller and stay open. */
    @Override
    public void close() {
        parallel.close();
    }
}
