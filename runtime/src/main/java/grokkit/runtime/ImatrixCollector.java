package grokkit.runtime;

import grokkit.model.ModelConfig;
import grokkit.quant.Imatrix;

/**
 * Accumulates an {@link Imatrix} from a session's expert inputs: per layer and expert, Σx² per
 * input channel (float64, in token order, so the result is deterministic) and the tokens routed
 * to it. Attach with {@link Session#observe}, run the calibration tokens, then {@link #result}.
 */
public final class ImatrixCollector implements ActivationObserver {
    private final int layers, experts, emb, ffn;
    private final double[][] expertIn, downIn;
    private final long[][] tokens;

    public ImatrixCollector(ModelConfig c) {
        this.layers = c.numLayers();
        this.experts = c.numExperts();
        this.emb = c.embSize();
        this.ffn = c.ffnSize();
        this.expertIn = new double[layers * experts][emb];
        this.downIn = new double[layers * experts][ffn];
        this.tokens = new long[layers][experts];
    }

    @Override
    public void expertInput(int layer, int expert, float[][] rows) {
        add(expertIn[layer * experts + expert], rows, emb);
        tokens[layer][expert] += rows.length;
    }

    @Override
    public void downInput(int layer, int expert, float[][] rows) {
        add(downIn[layer * experts + expert], rows, ffn);
    }

    private static void add(double[] sum, float[][] rows, int n) {
        for (float[] r : rows)
            for (int i = 0; i < n; i++) sum[i] += (double) r[i] * r[i];
    }

    /** Tokens routed to (layer, expert) so far. */
    public long tokens(int layer, int expert) {
        return tokens[layer][expert];
    }

    /** The mean squares so far (0 for an expert without tokens). */
    public Imatrix result(String calibration) {
        float[][] e = new float[layers * experts][], d = new float[layers * experts][];
        long[][] t = new long[layers][];
        for (int l = 0; l < layers; l++) {
            t[l] = tokens[l].clone();
            for (int x = 0; x < experts; x++) {
                long n = tokens[l][x];
                e[l * experts + x] = mean(expertIn[l * experts + x], n);
                d[l * experts + x] = mean(downIn[l * experts + x], n);
            }
        }
        return new Imatrix(layers, experts, emb, ffn, t, e, d, calibration);
    }

    private static float[] mean(double[] sum, long n) {
        float[] m = new float[sum.length];
        if (n > 0) for (int i = 0; i < sum.length; i++) m[i] = (float) (sum[i] / n);
        return m;
    }

    /**
     * Runs every sequence through {@code model} (each cut into windows of at most {@code context}
     * tokens, each window a fresh session, so no window attends past its start) and collects the
     * statistics of all of them.
     */
    public static ImatrixCollector collect(GrokModel model, java.util.List<int[]> sequences, int context) throws grokkit.errors.BadInputException {
        return collect(model, sequences, context, done -> {});
    }

    /** As {@link #collect(GrokModel, java.util.List, int)}, telling {@code tokensDone} the tokens run so far after each window. */
    public static ImatrixCollector collect(GrokModel model, java.util.List<int[]> sequences, int context,
                                           java.util.function.LongConsumer tokensDone) throws grokkit.errors.BadInputException {
        if (context < 1) throw new IllegalArgumentException("context must be >= 1, got " + context);
        ImatrixCollector c = new ImatrixCollector(model.config());
        long done = 0;
        for (int[] seq : sequences) {
            for (int start = 0; start < seq.length; start += context) {
                int[] window = java.util.Arrays.copyOfRange(seq, start, Math.min(seq.length, start + context));
                try (Session s = model.newSession()) {
                    s.observe(c);
                    s.prefill(window);
                }
                done += window.length;
                tokensDone.accept(done);
            }
        }
        return c;
    }
}
