package grokkit.export;

import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Imatrix;

import java.util.ArrayList;
import java.util.List;

/**
 * The mapping from the reference's parameters to llama.cpp's {@code grok} tensors (the table in
 * docs/EXPORT.md), in file order: {@code token_embd}, {@code output_norm}, then per layer in
 * numeric order the attention norm and projections, the post-attention norm, the MoE norm,
 * router and experts, and the post-MoE norm.
 *
 * <p>Orientation: JAX stores W {@code [in, out]} with {@code y = x·W}; ggml's matrix
 * {@code {ne0, ne1}} has rows of {@code ne0} values and computes {@code y[r] = row_r · x}, so
 * W becomes {@code {in, out}}: out rows of in values (a transpose of the checkpoint's bytes).
 * The embedding table {@code [vocab, emb]} is already {@code {emb, vocab}}. Values are not
 * changed: llama.cpp multiplies by {@code grok.embedding_scale} itself, and its RMSNorm uses
 * the weights as the reference does ({@code x·rsqrt(mean x² + eps)·w}, no +1).
 */
public final class GrokTensorMap {
    private GrokTensorMap() {}

    public static List<PlannedTensor> plan(ExportSource src, TypeMix mix, Imatrix imatrixOrNull) {
        return plan(src, mix, imatrixOrNull, ChannelFolds.Settings.defaultFor(mix.experts()));
    }

    /** The plan with the given channel folds ({@link ChannelFolds}: the MoE norm, router and experts of every layer). */
    public static List<PlannedTensor> plan(ExportSource src, TypeMix mix, Imatrix imatrixOrNull, ChannelFolds.Settings folds) {
        ModelConfig c = src.config();
        List<PlannedTensor> out = new ArrayList<>();
        add(out, mix, "token_embd.weight", TensorClass.EMBEDDING, ParamNames.EMBEDDINGS, TensorRows.of(src.embeddings()));
        add(out, mix, "output_norm.weight", TensorClass.NORM, ParamNames.FINAL_NORM, TensorRows.of(src.vector(ParamNames.FINAL_NORM)));
        for (int l = 0; l < c.numLayers(); l++) {
            String b = "blk." + l + ".";
            norm(out, mix, src, b + "attn_norm.weight", l, ParamNames.NORM_PRE_ATTN);
            matrix(out, mix, src, b + "attn_q.weight", TensorClass.ATTENTION, l, ParamNames.ATTN_QUERY);
            matrix(out, mix, src, b + "attn_k.weight", TensorClass.ATTENTION, l, ParamNames.ATTN_KEY);
            matrix(out, mix, src, b + "attn_v.weight", TensorClass.ATTENTION, l, ParamNames.ATTN_VALUE);
            matrix(out, mix, src, b + "attn_output.weight", TensorClass.ATTENTION, l, ParamNames.ATTN_OUT);
            norm(out, mix, src, b + "attn_output_norm.weight", l, ParamNames.NORM_POST_ATTN);
            ChannelFolds f = new ChannelFolds(folds, src, c, l, imatrixOrNull);
            String pn = ParamNames.layer(l, ParamNames.NORM_PRE_MOE), pr = ParamNames.layer(l, ParamNames.ROUTER);
            add(out, mix, b + "ffn_norm.weight", TensorClass.NORM, pn, f.foldedNorm(TensorRows.of(src.vector(pn))));
            add(out, mix, b + "ffn_gate_inp.weight", TensorClass.ROUTER, pr, f.foldedRouter(TensorRows.of(src.matrix(pr))));
            for (ExpertRows.Kind k : ExpertRows.Kind.values()) {
                ExpertRows rows = new ExpertRows(src, c, l, k, imatrixOrNull, f);
                add(out, mix, b + k.ggufName + ".weight", TensorClass.EXPERT, ParamNames.layer(l, k.param), rows);
            }
            norm(out, mix, src, b + "layer_output_norm.weight", l, ParamNames.NORM_POST_MOE);
        }
        return out;
    }

    private static void norm(List<PlannedTensor> out, TypeMix mix, ExportSource src, String name, int layer, String param) {
        String p = ParamNames.layer(layer, param);
        add(out, mix, name, TensorClass.NORM, p, TensorRows.of(src.vector(p)));
    }

    private static void matrix(List<PlannedTensor> out, TypeMix mix, ExportSource src, String name, TensorClass cls, int layer, String param) {
        String p = ParamNames.layer(layer, param);
        add(out, mix, name, cls, p, TensorRows.of(src.matrix(p)));
    }

    private static void add(List<PlannedTensor> out, TypeMix mix, String name, TensorClass cls, String source, TensorRows rows) {
        long[] ne = cls == TensorClass.NORM ? new long[] {rows.rowLength()}
                : rows.units() == 1 ? new long[] {rows.rowLength(), rows.rowsPerUnit()}
                : new long[] {rows.rowLength(), rows.rowsPerUnit(), rows.units()};
        TypeMix.Choice ch = mix.choose(cls, rows.rowLength());
        out.add(new PlannedTensor(name, ne, cls, ch.type(), ch.fallbackNote(), source, rows));
    }
}
