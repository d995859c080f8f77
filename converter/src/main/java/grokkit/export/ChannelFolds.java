package grokkit.export;

import grokkit.gguf.GgmlType;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Imatrix;

/**
 * Exact rewrites of one MoE layer that let q4nl's per-input-channel scales live inside plain
 * GGUF blocks (docs/EXPORT.md, "Channel folds"). Both change no function the graph computes, in
 * real arithmetic, in the reference and in llama.cpp's {@code grok} graph; they only move
 * magnitude between tensors so that the 4-bit blocks see homogeneous rows.
 *
 * <ul>
 * <li><b>Down fold</b> (per expert): expert e computes {@code down · (gelu(gate·x) ∘ (up·x))}.
 *     The product is element-wise, so multiplying up's output channel j (ggml row j of
 *     {@code ffn_up_exps}) by {@code c_j} and dividing down's input channel j (column j of every
 *     row of {@code ffn_down_exps}) by {@code c_j} leaves the expert's output unchanged. With
 *     {@code c_j} = the RMS of down's column j (relative to the matrix's), outlier input channels
 *     of down no longer set the scale of the 32-value blocks they fall in. Scaling a whole row of
 *     up costs it nothing (block scales are per row).</li>
 * <li><b>Norm fold</b> (per layer): {@code ffn_norm}'s output x feeds only the router and the
 *     experts' gate and up. Multiplying the norm weight's channel i by {@code s_i} and dividing
 *     column i of the router and of every expert's gate and up by {@code s_i} is exact (llama.cpp
 *     applies the norm weight in f32 and runs the router in f32). {@code s_i} = the RMS of
 *     column i over all gate and up matrices of the layer: one scale must serve 2·E matrices, so
 *     it equalises what they share (the fixture's and trained models' hot input channels).</li>
 * </ul>
 *
 * <p>Quantizer importance (the error weight of each input): the folded matrices' error is
 * measured in the original units, so input j of a folded row counts {@code scale_j²} times its
 * activation's mean square. The latter is the importance matrix's when {@code --imatrix} is
 * given; without one it is estimated from the model itself: {@code g_i²} (the MoE norm weight
 * sets the scale of input i of gate and up) and 1 for down's inputs.
 *
 * <p>Statistics come from one extra read of the layer's expert weights, in row order, so the
 * scales (and the bytes) are deterministic. Thread-safe: scales are computed once, under a lock.
 */
public final class ChannelFolds {
    /** Which folds an export applies. */
    public record Settings(boolean down, boolean norm) {
        public static final Settings NONE = new Settings(false, false);
        public static final Settings ALL = new Settings(true, true);

        /** The default: both folds for experts stored below 8 bits, none for float and 8-bit experts (nothing to gain). */
        public static Settings defaultFor(GgmlType experts) {
            return switch (experts) {
                case F32, F16, BF16, Q8_0 -> NONE;
                default -> ALL;
            };
        }

        public boolean any() {
            return down || norm;
        }

        /** The value of the {@code grok-kit.channel_folds} key: {@code down,norm}, {@code down}, {@code norm} or {@code none}. */
        public String describe() {
            if (down && norm) return "down,norm";
            if (down) return "down";
            if (norm) return "norm";
            return "none";
        }
    }

    /** The GGUF metadata key that records the folds applied. */
    public static final String METADATA_KEY = "grok-kit.channel_folds";

    /** Scales are clamped to this factor of the mean (either way), as q4nl's channel scales are. */
    static final float RANGE = 4096f;

    /** Rows read per step of a statistics pass. */
    private static final int STAT_ROWS = 256;

    private final Settings settings;
    private final ExportSource src;
    private final int layer, experts;
    private final Imatrix imatrix;
    private final float[][] downScale;
    private float[] normScale, normWeight;

    public ChannelFolds(Settings settings, ExportSource src, ModelConfig c, int layer, Imatrix imatrixOrNull) {
        this.settings = settings;
        this.src = src;
        this.layer = layer;
        this.experts = c.numExperts();
        this.imatrix = imatrixOrNull;
        this.downScale = new float[experts][];
    }

    public Settings settings() {
        return settings;
    }

    /** c for expert e (length ffn), or null without the down fold. */
    synchronized float[] downScale(int e) {
        if (!settings.down) return null;
        if (downScale[e] == null) {
            Rows down = src.expert(ParamNames.layer(layer, ParamNames.MOE_LINEAR_1), e);
            double[] ss = new double[down.in()];
            columnSquares(down, ss);
            downScale[e] = scales(ss, down.out());
        }
        return downScale[e];
    }

    /** s for the layer (length emb), or null without the norm fold. */
    synchronized float[] normScale() {
        if (!settings.norm) return null;
        if (normScale == null) {
            int emb = src.expert(ParamNames.layer(layer, ParamNames.MOE_LINEAR), 0).in();
            double[] ss = new double[emb];
            long rows = 0;
            for (String p : new String[] {ParamNames.MOE_LINEAR, ParamNames.MOE_LINEAR_V}) {
                for (int e = 0; e < experts; e++) {
                    Rows r = src.expert(ParamNames.layer(layer, p), e);
                    columnSquares(r, ss);
                    rows += r.out();
                }
            }
            normScale = scales(ss, rows);
        }
        return normScale;
    }

    /** The MoE norm weight g as stored in the source (length emb). */
    synchronized float[] normWeight() {
        if (normWeight == null) {
            Rows v = src.vector(ParamNames.layer(layer, ParamNames.NORM_PRE_MOE));
            normWeight = new float[v.in()];
            v.read(0, 1, normWeight);
        }
        return normWeight;
    }

    /** Adds Σ_rows x² per column of all rows of r into ss (rows in order). */
    private static void columnSquares(Rows r, double[] ss) {
        int in = r.in();
        float[] buf = new float[Math.min(STAT_ROWS, r.out()) * in];
        for (int o = 0; o < r.out(); o += STAT_ROWS) {
            int n = Math.min(STAT_ROWS, r.out() - o);
            r.read(o, n, buf);
            for (int t = 0; t < n; t++)
                for (int i = 0; i < in; i++) {
                    double v = buf[t * in + i];
                    ss[i] += v * v;
                }
        }
    }

    /** Per-column RMS relative to the mean RMS, clamped to [1/RANGE, RANGE]; 1 for an all-zero column or matrix. */
    static float[] scales(double[] ss, long rows) {
        double total = 0;
        for (double v : ss) total += v;
        double mean = Math.sqrt(total / ((double) ss.length * rows));
        float[] s = new float[ss.length];
        for (int i = 0; i < s.length; i++) {
            double rms = Math.sqrt(ss[i] / rows);
            float ratio = mean > 0 && rms > 0 ? (float) (rms / mean) : 1f;
            s[i] = Math.min(RANGE, Math.max(1f / RANGE, ratio));
        }
        return s;
    }

    /** Rows of expert matrix {@code kind} of expert e as the export writes them (folded), into dst. */
    void fold(ExpertRows.Kind kind, int e, int o0, int n, int in, float[] dst) {
        float[] s = kind == ExpertRows.Kind.DOWN ? null : normScale();
        float[] c = kind == ExpertRows.Kind.GATE ? null : downScale(e);
        for (int t = 0; t < n; t++) {
            int b = t * in;
            switch (kind) {
                case GATE, UP -> {
                    float rowScale = kind == ExpertRows.Kind.UP && c != null ? c[o0 + t] : 1f;
                    for (int i = 0; i < in; i++) dst[b + i] = s == null ? dst[b + i] * rowScale : dst[b + i] * rowScale / s[i];
                }
                case DOWN -> {
                    if (c != null) for (int i = 0; i < in; i++) dst[b + i] /= c[i];
                }
            }
        }
    }

    /** The quantizer importance of a row's inputs of {@code kind} for expert e (see the class comment); null for none. */
    float[] importance(ExpertRows.Kind kind, int e) {
        boolean down = kind == ExpertRows.Kind.DOWN;
        float[] base = imatrix != null ? imatrix.importance(layer, e, down) : null;
        float[] scale = down ? downScale(e) : normScale();
        if (base == null && !down) {
            // no calibration: input i of gate and up has the scale of norm weight g_i
            float[] g = normWeight();
            base = new float[g.length];
            for (int i = 0; i < g.length; i++) base[i] = g[i] * g[i];
        }
        if (scale == null) return base;
        float[] w = new float[scale.length];
        for (int i = 0; i < w.length; i++) w[i] = (base == null ? 1f : base[i]) * scale[i] * scale[i];
        return w;
    }

    /** The MoE norm weight as the export writes it: g ∘ s. */
    TensorRows foldedNorm(TensorRows norm) {
        return new Folded(norm, (o0, n, in, dst) -> {
            float[] s = normScale();
            if (s != null) for (int i = 0; i < in; i++) dst[i] *= s[i];
        });
    }

    /** The router as the export writes it: each expert's row divided by s. */
    TensorRows foldedRouter(TensorRows router) {
        return new Folded(router, (o0, n, in, dst) -> {
            float[] s = normScale();
            if (s != null) for (int t = 0; t < n; t++) for (int i = 0; i < in; i++) dst[t * in + i] /= s[i];
        });
    }

    private interface RowMap {
        void apply(int o0, int n, int in, float[] dst);
    }

    private record Folded(TensorRows base, RowMap map) implements TensorRows {
        @Override public int rowLength() { return base.rowLength(); }
        @Override public int units() { return base.units(); }
        @Override public int rowsPerUnit() { return base.rowsPerUnit(); }
        @Override public long sourceBytes() { return base.sourceBytes(); }

        @Override
        public void read(int unit, int o0, int n, float[] dst) {
            base.read(unit, o0, n, dst);
            map.apply(o0, n, base.rowLength(), dst);
        }
    }
}
