package grokkit.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Parameter names as the reference spells them ({@code module/param}), and the order in which
 * the checkpoint stores them.
 *
 * <p>The checkpoint's file {@code tensor{i:05d}_000} holds leaf {@code i} of JAX's
 * {@code tree_flatten} of the parameter dict, which visits keys in sorted (lexicographic
 * string) order. So layers come as 0, 1, 10, 11, ..., 2, 20, ...; {@link #checkpointOrder}
 * derives this by sorting, never by a hard-coded table.
 */
public final class ParamNames {
    public static final String EMBEDDINGS = "language_model/in_out_embed/embeddings";
    public static final String FINAL_NORM = "language_model/rms_norm/scale";

    /** Per-layer parameters, relative to {@code transformer/decoder_layer_{L}/}. */
    public static final String MOE_LINEAR = "moe/linear/w";          // experts' gate projection (gelu branch), [E, emb, ffn]
    public static final String MOE_LINEAR_1 = "moe/linear_1/w";      // experts' down projection, [E, ffn, emb]
    public static final String MOE_LINEAR_V = "moe/linear_v/w";      // experts' up projection (linear branch), [E, emb, ffn]
    public static final String ATTN_KEY = "multi_head_attention/key/w";
    public static final String ATTN_OUT = "multi_head_attention/linear/w";
    public static final String ATTN_QUERY = "multi_head_attention/query/w";
    public static final String ATTN_VALUE = "multi_head_attention/value/w";
    public static final String NORM_PRE_ATTN = "rms_norm/scale";
    public static final String NORM_POST_ATTN = "rms_norm_1/scale";
    public static final String NORM_PRE_MOE = "rms_norm_2/scale";
    public static final String NORM_POST_MOE = "rms_norm_3/scale";
    public static final String ROUTER = "router/w";

    public static final List<String> LAYER_PARAMS = List.of(
            MOE_LINEAR, MOE_LINEAR_1, MOE_LINEAR_V, ATTN_KEY, ATTN_OUT, ATTN_QUERY, ATTN_VALUE,
            NORM_PRE_ATTN, NORM_POST_ATTN, NORM_PRE_MOE, NORM_POST_MOE, ROUTER);

    private ParamNames() {}

    /** {@code transformer/decoder_layer_{layer}/{param}}. */
    public static String layer(int layer, String param) {
        return "transformer/decoder_layer_" + layer + "/" + param;
    }

    /** Every parameter name of a model with {@code numLayers} layers, in checkpoint file order. */
    public static List<String> checkpointOrder(int numLayers) {
        List<String> names = new ArrayList<>(2 + numLayers * LAYER_PARAMS.size());
        names.add(EMBEDDINGS);
        names.add(FINAL_NORM);
        for (int l = 0; l < numLayers; l++) for (String p : LAYER_PARAMS) names.add(layer(l, p));
        // JAX flattens dicts by sorted key; keys are module paths and sort as strings.
        // Sorting whole names is equivalent, because names sharing a module share its prefix.
        names.sort(null);
        return names;
    }

    /**
     * The scale layout of an int8 weight in Grok-1's release: 8 row blocks ({@code [8, N]} bf16
     * scales, one per block of rows/8 input rows) for the attention output projection and
     * {@code moe/linear_1}, per output column ({@code [1, N]}) for the others
     * (../shared/grok1/REFERENCE.md's table). 0 for a name without int8 weights.
     */
    public static int releaseScaleRowBlocks(String name) {
        String p = paramOf(name);
        if (p.equals(ATTN_OUT) || p.equals(MOE_LINEAR_1)) return 8;
        if (p.equals(ATTN_QUERY) || p.equals(ATTN_KEY) || p.equals(ATTN_VALUE) || p.equals(MOE_LINEAR) || p.equals(MOE_LINEAR_V)) return 1;
        return 0;
    }

    /** The layer number of a per-layer name, or -1. */
    public static int layerOf(String name) {
        String prefix = "transformer/decoder_layer_";
        if (!name.startsWith(prefix)) return -1;
        int slash = name.indexOf('/', prefix.length());
        if (slash < 0) return -1;
        try {
            return Integer.parseInt(name.substring(prefix.length(), slash));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The per-layer part of a name ({@code moe/linear/w}), or the name itself if not per-layer. */
    public static String paramOf(String name) {
        int l = layerOf(name);
        return l < 0 ? name : name.substring(("transformer/decoder_layer_" + l + "/").length());
    }
}
