package grokkit.runtime;

import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.ScalarMatrices;
import grokkit.quant.WeightMatrix;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/** In-memory float32 weights drawn from a seed, for tests of the forward pass. */
final class RandomWeights implements ModelWeights {
    private final ModelConfig config;
    private final Map<String, float[]> vectors = new HashMap<>();
    private final Map<String, WeightMatrix> matrices = new HashMap<>();
    private final Map<String, WeightMatrix[]> experts = new HashMap<>();
    private final WeightMatrix embeddings;

    /** A tiny Grok-shaped configuration: 2 layers, emb 32, 4 q / 2 kv heads of 8, 4 experts top-2. */
    static ModelConfig tinyConfig() {
        return new ModelConfig(50, 32, 8, 4, 2, 2, 4, 2, 8.0, 48,
                78.38367176906169, 0.5773502691896257, 1 / Math.sqrt(8), 30.0, 1e-5, 10000.0, 0, 2, 64);
    }

    RandomWeights(ModelConfig c, long seed, double routerGain) {
        this.config = c;
        Random r = new Random(seed);
        int emb = c.embSize(), q = c.numQHeads() * c.keySize(), kv = c.numKvHeads() * c.keySize();
        // Scaled inputs of a few units per element, block outputs of about two (post-norm scales
        // ~2, as in the fixtures), and a final norm that makes the tied output logits O(1).
        embeddings = dense(r, emb, c.vocabSize(), 0.05);
        vectors.put(ParamNames.FINAL_NORM, norm(r, emb, 8));
        for (int l = 0; l < c.numLayers(); l++) {
            vectors.put(ParamNames.layer(l, ParamNames.NORM_PRE_ATTN), norm(r, emb, 1));
            vectors.put(ParamNames.layer(l, ParamNames.NORM_POST_ATTN), norm(r, emb, 2));
            vectors.put(ParamNames.layer(l, ParamNames.NORM_PRE_MOE), norm(r, emb, 1));
            vectors.put(ParamNames.layer(l, ParamNames.NORM_POST_MOE), norm(r, emb, 2));
            // q/k gain 3 makes some attention logits large enough for the soft cap to matter a little.
            matrices.put(ParamNames.layer(l, ParamNames.ATTN_QUERY), dense(r, emb, q, 3 / Math.sqrt(emb)));
            matrices.put(ParamNames.layer(l, ParamNames.ATTN_KEY), dense(r, emb, kv, 3 / Math.sqrt(emb)));
            matrices.put(ParamNames.layer(l, ParamNames.ATTN_VALUE), dense(r, emb, kv, 1 / Math.sqrt(emb)));
            matrices.put(ParamNames.layer(l, ParamNames.ATTN_OUT), dense(r, q, emb, 1 / Math.sqrt(q)));
            matrices.put(ParamNames.layer(l, ParamNames.ROUTER), dense(r, emb, c.numExperts(), routerGain / Math.sqrt(emb)));
            WeightMatrix[] lin = new WeightMatrix[c.numExperts()], linV = new WeightMatrix[c.numExperts()], lin1 = new WeightMatrix[c.numExperts()];
            for (int e = 0; e < c.numExperts(); e++) {
                lin[e] = dense(r, emb, c.ffnSize(), 1 / Math.sqrt(emb));
                linV[e] = dense(r, emb, c.ffnSize(), 1 / Math.sqrt(emb));
                lin1[e] = dense(r, c.ffnSize(), emb, 1 / Math.sqrt(c.ffnSize()));
            }
            experts.put(ParamNames.layer(l, ParamNames.MOE_LINEAR), lin);
            experts.put(ParamNames.layer(l, ParamNames.MOE_LINEAR_V), linV);
            experts.put(ParamNames.layer(l, ParamNames.MOE_LINEAR_1), lin1);
        }
    }

    private static WeightMatrix dense(Random r, int in, int out, double std) {
        float[] d = new float[in * out];
        for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * std);
        return ScalarMatrices.ofFloats(in, out, d);
    }

    private static float[] norm(Random r, int n, double mean) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (mean * (1 + 0.2 * r.nextGaussian()));
        return v;
    }

    /** Replaces a matrix (tests that need special weights, e.g. a tied router). */
    void put(String name, WeightMatrix m) {
        matrices.put(name, m);
    }

    @Override public ModelConfig config() { return config; }
    @Override public WeightMatrix embeddings() { return embeddings; }
    @Override public float[] vector(String name) { return vectors.get(name); }
    @Override public WeightMatrix matrix(String name) { return matrices.get(name); }
    @Override public WeightMatrix expert(String name, int expert) { return experts.get(name)[expert]; }
}
