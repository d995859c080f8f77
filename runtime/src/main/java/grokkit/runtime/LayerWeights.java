package grokkit.runtime;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.WeightMatrix;

/**
 * One decoder layer's parameters, looked up once by name and checked against the configuration
 * so that a wrong model fails at load time with the parameter's name, not mid-forward with an
 * index error. The matrices stay whatever {@link ModelWeights} hands out (mapped, quantized).
 */
record LayerWeights(
        float[] normPreAttn, float[] normPostAttn, float[] normPreMoe, float[] normPostMoe,
        WeightMatrix query, WeightMatrix key, WeightMatrix value, WeightMatrix attnOut,
        WeightMatrix router, WeightMatrix[] moeLinear, WeightMatrix[] moeLinearV, WeightMatrix[] moeLinear1) {

    static LayerWeights load(ModelWeights w, int layer) throws BadInputException {
        ModelConfig c = w.config();
        int emb = c.embSize(), qDim = c.numQHeads() * c.keySize(), kvDim = c.numKvHeads() * c.keySize();
        int experts = c.numExperts(), ffn = c.ffnSize();
        WeightMatrix[] lin = new WeightMatrix[experts], linV = new WeightMatrix[experts], lin1 = new WeightMatrix[experts];
        for (int e = 0; e < experts; e++) {
            lin[e] = expert(w, layer, ParamNames.MOE_LINEAR, e, emb, ffn);
            linV[e] = expert(w, layer, ParamNames.MOE_LINEAR_V, e, emb, ffn);
            lin1[e] = expert(w, layer, ParamNames.MOE_LINEAR_1, e, ffn, emb);
        }
        return new LayerWeights(
                vector(w, ParamNames.layer(layer, ParamNames.NORM_PRE_ATTN), emb),
                vector(w, ParamNames.layer(layer, ParamNames.NORM_POST_ATTN), emb),
                vector(w, ParamNames.layer(layer, ParamNames.NORM_PRE_MOE), emb),
                vector(w, ParamNames.layer(layer, ParamNames.NORM_POST_MOE), emb),
                matrix(w, ParamNames.layer(layer, ParamNames.ATTN_QUERY), emb, qDim),
                matrix(w, ParamNames.layer(layer, ParamNames.ATTN_KEY), emb, kvDim),
                matrix(w, ParamNames.layer(layer, ParamNames.ATTN_VALUE), emb, kvDim),
                matrix(w, ParamNames.layer(layer, ParamNames.ATTN_OUT), qDim, emb),
                matrix(w, ParamNames.layer(layer, ParamNames.ROUTER), emb, experts),
                lin, linV, lin1);
    }

    static float[] vector(ModelWeights w, String name, int length) throws BadInputException {
        float[] v;
        try {
            v = w.vector(name);
        } catch (RuntimeException e) {
            throw new BadInputException("model weights: cannot read " + name + ": " + e.getMessage(), e);
        }
        if (v == null) throw new BadInputException("model weights: missing vector " + name);
        if (v.length != length)
            throw new BadInputException("model weights: " + name + " has length " + v.length + ", expected " + length);
        return v;
    }

    static WeightMatrix matrix(ModelWeights w, String name, int in, int out) throws BadInputException {
        WeightMatrix m;
        try {
            m = w.matrix(name);
        } catch (RuntimeException e) {
            throw new BadInputException("model weights: cannot read " + name + ": " + e.getMessage(), e);
        }
        return checkShape(m, name, in, out);
    }

    private static WeightMatrix expert(ModelWeights w, int layer, String param, int e, int in, int out) throws BadInputException {
        String name = ParamNames.layer(layer, param);
        WeightMatrix m;
        try {
            m = w.expert(name, e);
        } catch (RuntimeException ex) {
            throw new BadInputException("model weights: cannot read " + name + " expert " + e + ": " + ex.getMessage(), ex);
        }
        return checkShape(m, name + " expert " + e, in, out);
    }

    static WeightMatrix checkShape(WeightMatrix m, String name, int in, int out) throws BadInputException {
        if (m == null) throw new BadInputException("model weights: missing matrix " + name);
        if (m.inDim() != in || m.outDim() != out)
            throw new BadInputException("model weights: " + name + " is [" + m.inDim() + ", " + m.outDim()
                    + "], expected [" + in + ", " + out + "] from the model configuration");
        return m;
    }
}
