package grokkit.export;

import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Imatrix;

/**
 * The one place where an MoE layer's expert weights become the float rows the GGUF codecs
 * quantize: {@code ffn_gate_exps} (the reference's {@code moe/linear}, the GELU branch),
 * {@code ffn_up_exps} ({@code moe/linear_v}) and {@code ffn_down_exps} ({@code moe/linear_1}),
 * each {@code {in, out, E}}: expert e's out-major rows, {@code w[i, o]} of the checkpoint's
 * {@code [in, out]}. Any exact rewrite of the experts (a channel scale moved from one matrix
 * to another) belongs here, so that every export path sees it.
 *
 * <p>The importance of a row's inputs comes from the importance matrix of {@code grok imatrix}:
 * gate and up read the normed MoE input (its {@code expert_in} statistics), down reads
 * {@code gelu(gate)·up} ({@code down_in}); null without {@code --imatrix}.
 */
public final class ExpertRows implements TensorRows {
    /** Which of a layer's three expert matrices. */
    public enum Kind {
        GATE(ParamNames.MOE_LINEAR, "ffn_gate_exps"),
        UP(ParamNames.MOE_LINEAR_V, "ffn_up_exps"),
        DOWN(ParamNames.MOE_LINEAR_1, "ffn_down_exps");

        final String param;
        final String ggufName;

        Kind(String param, String ggufName) {
            this.param = param;
            this.ggufName = ggufName;
        }
    }

    private final int layer;
    private final Kind kind;
    private final Rows[] experts;
    private final Imatrix imatrix;
    private final ChannelFolds folds;
    private final float[][] importance;

    public ExpertRows(ExportSource src, ModelConfig config, int layer, Kind kind, Imatrix imatrixOrNull) {
        this(src, config, layer, kind, imatrixOrNull, null);
    }

    /** With {@code folds} (null for none): the layer's channel folds, applied to every row read ({@link ChannelFolds}). */
    public ExpertRows(ExportSource src, ModelConfig config, int layer, Kind kind, Imatrix imatrixOrNull, ChannelFolds folds) {
        this.layer = layer;
        this.kind = kind;
        this.imatrix = imatrixOrNull;
        this.folds = folds == null || !folds.settings().any() ? null : folds;
        this.experts = new Rows[config.numExperts()];
        for (int e = 0; e < experts.length; e++) experts[e] = src.expert(ParamNames.layer(layer, kind.param), e);
        this.importance = new float[experts.length][];
    }

    public Kind kind() {
        return kind;
    }

    public int layer() {
        return layer;
    }

    @Override
    public int rowLength() {
        return experts[0].in();
    }

    @Override
    public int units() {
        return experts.length;
    }

    @Override
    public int rowsPerUnit() {
        return experts[0].out();
    }

    @Override
    public void read(int expert, int o0, int n, float[] dst) {
        experts[expert].read(o0, n, dst);
        if (folds != null) folds.fold(kind, expert, o0, n, rowLength(), dst);
    }

    @Override
    public synchronized float[] importance(int expert) {
        if (folds != null) {
            if (importance[expert] == null) importance[expert] = folds.importance(kind, expert);
            return importance[expert];
        }
        if (imatrix == null) return null;
        if (importance[expert] == null) importance[expert] = imatrix.importance(layer, expert, kind == Kind.DOWN);
        return importance[expert];
    }

    @Override
    public long sourceBytes() {
        long b = 0;
        for (Rows r : experts) b += r.sourceBytes();
        return b;
    }
}
