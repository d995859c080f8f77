package grokkit.runtime;

import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.WeightMatrix;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A test oracle written straight from model.py, independent of the runtime's code paths: one
 * full pass in double precision, no cache, no chunking, attention over all T keys with the
 * reference's -1e30 masking, and every expert computed densely (as the reference's one-hot
 * einsum does) before the top-k selection picks two.
 */
final class NaiveGrok {
    private NaiveGrok() {}

    static double[][] forward(ModelWeights w, int[] tokens) {
        return forward(w, tokens, null);
    }

    /**
     * Per (layer·experts + expert): Σx² of the gate/up input, Σh² of the down input, and the
     * tokens routed to the expert, over the tokens that selected it (the imatrix definition).
     */
    record ExpertStats(double[][] in, double[][] down, long[][] tokens) {
        ExpertStats(ModelConfig c) {
            this(new double[c.numLayers() * c.numExperts()][c.embSize()], new double[c.numLayers() * c.numExperts()][c.ffnSize()],
                    new long[c.numLayers()][c.numExperts()]);
        }
    }

    /** {@link #forward(ModelWeights, int[])}, adding the expert input statistics to {@code stats} (if not null). */
    static double[][] forward(ModelWeights w, int[] tokens, ExpertStats stats) {
        ModelConfig c = w.config();
        int T = tokens.length, emb = c.embSize(), d = c.keySize(), H = c.numQHeads(), KV = c.numKvHeads();
        double[][] h = new double[T][emb];
        boolean[] keyOk = new boolean[T];
        float[] row = new float[emb];
        for (int t = 0; t < T; t++) {
            w.embeddings().dequantizeColumn(tokens[t], row);
            for (int i = 0; i < emb; i++) h[t][i] = row[i] * c.embeddingMultiplierScale();
            keyOk[t] = tokens[t] != c.padToken();
        }
        for (int l = 0; l < c.numLayers(); l++) {
            double[][] xn = rms(h, w.vector(ParamNames.layer(l, ParamNames.NORM_PRE_ATTN)), c.rmsNormEps());
            double[][] q = mm(xn, w.matrix(ParamNames.layer(l, ParamNames.ATTN_QUERY)));
            double[][] k = mm(xn, w.matrix(ParamNames.layer(l, ParamNames.ATTN_KEY)));
            double[][] v = mm(xn, w.matrix(ParamNames.layer(l, ParamNames.ATTN_VALUE)));
            for (int t = 0; t < T; t++) {
                for (int hd = 0; hd < H; hd++) rotate(q[t], hd * d, d, t, c.ropeBase());
                for (int hd = 0; hd < KV; hd++) rotate(k[t], hd * d, d, t, c.ropeBase());
            }
            double[][] att = new double[T][H * d];
            for (int t = 0; t < T; t++) {
                for (int hd = 0; hd < H; hd++) {
                    int g = hd / (H / KV);
                    double[] s = new double[T];
                    for (int j = 0; j < T; j++) {
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += q[t][hd * d + i] * k[j][g * d + i];
                        double x = dot * c.attnOutputMultiplier();
                        x = c.attnLogitCap() * Math.tanh(x / c.attnLogitCap());
                        s[j] = (j <= t && keyOk[j]) ? x : -1e30;
                    }
                    softmax(s);
                    for (int j = 0; j < T; j++) for (int i = 0; i < d; i++) att[t][hd * d + i] += s[j] * v[j][g * d + i];
                }
            }
            double[][] o = rms(mm(att, w.matrix(ParamNames.layer(l, ParamNames.ATTN_OUT))), w.vector(ParamNames.layer(l, ParamNames.NORM_POST_ATTN)), c.rmsNormEps());
            add(h, o);
            xn = rms(h, w.vector(ParamNames.layer(l, ParamNames.NORM_PRE_MOE)), c.rmsNormEps());
            double[][] probs = mm(xn, w.matrix(ParamNames.layer(l, ParamNames.ROUTER)));
            double[][][] all = new double[c.numExperts()][][], hidden = new double[c.numExperts()][][];
            for (int e = 0; e < c.numExperts(); e++) {
                double[][] a = mm(xn, w.expert(ParamNames.layer(l, ParamNames.MOE_LINEAR), e));
                double[][] b = mm(xn, w.expert(ParamNames.layer(l, ParamNames.MOE_LINEAR_V), e));
                for (int t = 0; t < T; t++) for (int i = 0; i < a[t].length; i++) a[t][i] = b[t][i] * gelu(a[t][i]);
                hidden[e] = a;
                all[e] = mm(a, w.expert(ParamNames.layer(l, ParamNames.MOE_LINEAR_1), e));
            }
            double[][] moe = new double[T][emb];
            for (int t = 0; t < T; t++) {
                softmax(probs[t]);
                final double[] p = probs[t];
                Integer[] order = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
                Arrays.sort(order, Comparator.comparingDouble((Integer e) -> -p[e]).thenComparingInt(e -> e));
                for (int s = 0; s < c.numSelectedExperts(); s++) {
                    int e = order[s];
                    for (int i = 0; i < emb; i++) moe[t][i] += p[e] * all[e][t][i];
                    if (stats != null) {
                        int r = l * c.numExperts() + e;
                        for (int i = 0; i < emb; i++) stats.in()[r][i] += xn[t][i] * xn[t][i];
                        for (int i = 0; i < c.ffnSize(); i++) stats.down()[r][i] += hidden[e][t][i] * hidden[e][t][i];
                        stats.tokens()[l][e]++;
                    }
                }
            }
            add(h, rms(moe, w.vector(ParamNames.layer(l, ParamNames.NORM_POST_MOE)), c.rmsNormEps()));
        }
        double[][] out = rms(h, w.vector(ParamNames.FINAL_NORM), c.rmsNormEps());
        double[][] logits = new double[T][c.vocabSize()];
        float[] e = new float[emb];
        for (int tok = 0; tok < c.vocabSize(); tok++) {
            w.embeddings().dequantizeColumn(tok, e);
            for (int t = 0; t < T; t++) {
                double s = 0;
                for (int i = 0; i < emb; i++) s += out[t][i] * e[i];
                logits[t][tok] = s * c.outputMultiplierScale();
            }
        }
        return logits;
    }

    /** Rotate-half RoPE, θ_j = pos · base^(-2j/d), pairs (j, j + d/2). */
    static void rotate(double[] x, int off, int d, int pos, double base) {
        for (int j = 0; j < d / 2; j++) {
            double theta = pos * Math.pow(base, -2.0 * j / d);
            double a = x[off + j], b = x[off + j + d / 2];
            x[off + j] = a * Math.cos(theta) - b * Math.sin(theta);
            x[off + j + d / 2] = b * Math.cos(theta) + a * Math.sin(theta);
        }
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    static void softmax(double[] s) {
        double max = Arrays.stream(s).max().orElseThrow(), sum = 0;
        for (int i = 0; i < s.length; i++) sum += (s[i] = Math.exp(s[i] - max));
        for (int i = 0; i < s.length; i++) s[i] /= sum;
    }

    static double[][] rms(double[][] x, float[] scale, double eps) {
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ms = 0;
            for (double v : x[t]) ms += v * v;
            double r = 1 / Math.sqrt(ms / x[t].length + eps);
            y[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) y[t][i] = scale[i] * x[t][i] * r;
        }
        return y;
    }

    static double[][] mm(double[][] x, WeightMatrix w) {
        float[] col = new float[w.inDim()];
        double[][] y = new double[x.length][w.outDim()];
        for (int o = 0; o < w.outDim(); o++) {
            w.dequantizeColumn(o, col);
            for (int t = 0; t < x.length; t++) {
                double s = 0;
                for (int i = 0; i < col.length; i++) s += x[t][i] * col[i];
                y[t][o] = s;
            }
        }
        return y;
    }

    static void add(double[][] h, double[][] d) {
        for (int t = 0; t < h.length; t++) for (int i = 0; i < h[t].length; i++) h[t][i] += d[t][i];
    }
}
