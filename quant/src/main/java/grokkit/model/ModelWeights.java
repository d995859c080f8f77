package grokkit.model;

import grokkit.quant.WeightMatrix;

/**
 * Everything the runtime needs from a model's weights, by the reference's parameter names
 * ({@link ParamNames}). The sharded format ({@code grokkit.shard}) implements it over mapped
 * files; tests may implement it in memory.
 */
public interface ModelWeights extends AutoCloseable {
    ModelConfig config();

    /**
     * The tied embedding table as a matrix with {@code in = emb_size}, {@code out = vocab_size}:
     * {@code dequantizeColumn(token)} is the token's embedding row, and {@code matvec(h)} gives
     * the (unscaled) output logits {@code h · Eᵀ}.
     */
    WeightMatrix embeddings();

    /** A float32 vector parameter (RMSNorm scales), by full name. */
    float[] vector(String name);

    /** A dense 2-D weight (attention projections, router), by full name, as {@code [in, out]}. */
    WeightMatrix matrix(String name);

    /** Expert {@code expert} of a 3-D MoE weight ({@code moe/linear/w} etc.), by full name. */
    WeightMatrix expert(String name, int expert);

    @Override
    default void close() {}
}
