package grokkit.runtime;

import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.ParallelMatmul;

/**
 * Splits the output rows of the forward pass's matrix products across threads, on the kernels'
 * {@link ParallelMatmul} pool. The one place that knows how work is spread over cores.
 *
 * <p>A group of products (q, k and v of a layer) is one dispatch: the matrices' output ranges
 * are laid end to end, each padded to the pool's 16-row alignment, and the pool's chunks are
 * mapped back onto them. The experts' products go further: every chunk takes the same output
 * rows of every selected expert, so the gate and up products and the gelu that joins them
 * ({@link #gatedMatmuls}), or the down products and the gate-weighted sum of the experts
 * ({@link #combinedMatmuls}), are one dispatch each with no pass over the results between.
 * A decode step thus pays one barrier per group, not per matrix or element-wise step.
 *
 * <p>Chunks are guided (large first, short at the end), so a thread that another process
 * delays holds up the product by a short chunk at most.
 */
final class RowParallel implements AutoCloseable {
    /** A body over a contiguous index range {@code [from, to)}. */
    interface RangeBody {
        void run(int from, int to);
    }

    /**
     * How long idle workers spin before parking ({@code -Dgrok.spinMicros}, default 50 µs: the
     * serial gaps of a decode step are shorter, except attention over a long cache). Measured on
     * the shared 2-core machine, a 2 ms spin made decode ~2× slower: a worker that never sleeps
     * loses the scheduler's wake-up preference and is preempted by other processes mid-product,
     * while the caller waits for its chunk. See docs/benchmarks/runtime.md.
     */
    static final long SPIN_NANOS = Long.getLong("grok.spinMicros", 50) * 1_000;

    private final ParallelMatmul pool;

    RowParallel(int threads) {
        this.pool = new ParallelMatmul(threads, SPIN_NANOS);
    }

    int threads() {
        return pool.threads();
    }

    /** Runs {@code body} over {@code [0, n)} split across the threads in chunks of whole {@code grain}s. */
    void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        pool.forRange(n, grain, body::run);
    }

    /** Runs {@code body} over {@code [0, n)} split across the threads in cache-line-aligned chunks. */
    void forRange(int n, RangeBody body) {
        forRange(n, ParallelMatmul.ALIGN, body);
    }

    /** {@code y = x·W}. */
    void matvec(WeightMatrix w, float[] x, float[] y) {
        float[][] xs = {x}, ys = {y};
        WeightMatrix.PreparedInputs p = prepare(w, xs);
        forRange(w.outDim(), (from, to) -> slice(w, xs, p, ys, from, to));
    }

    /** {@code y = x·W} over T rows ({@code x} is {@code [T][in]}, {@code y} is {@code [T][out]}). */
    void matmul(WeightMatrix w, float[][] x, float[][] y) {
        WeightMatrix.PreparedInputs p = prepare(w, x);
        forRange(w.outDim(), (from, to) -> slice(w, x, p, y, from, to));
    }

    /** {@code y[i] = x[i]·W[i]} for every i, in one dispatch; one-row inputs use the matrix-vector kernel. */
    void matmuls(WeightMatrix[] w, float[][][] x, float[][][] y) {
        int[] start = new int[w.length + 1];
        for (int i = 0; i < w.length; i++) start[i + 1] = start[i] + align(w[i].outDim());
        WeightMatrix.PreparedInputs[] p = prepare(w, x);
        forRange(start[w.length], (from, to) -> {
            for (int i = 0; i < w.length; i++) {
                int lo = Math.max(from, start[i]) - start[i];
                int hi = Math.min(to, start[i] + w[i].outDim()) - start[i];
                if (lo < hi) slice(w[i], x[i], p[i], y[i], lo, hi);
            }
        });
    }

    /**
     * The first half of the experts' feed-forward, for every i (one selected expert and its
     * tokens {@code x[i]}): {@code h[i] = gelu(x[i]·gate[i]) ∘ (x[i]·up[i])}, with
     * {@code u[i]} as scratch for the up product. One dispatch over the ffn rows; each chunk
     * runs both products of every expert on its rows and joins them while they are in cache.
     * All matrices share one output width.
     */
    void gatedMatmuls(WeightMatrix[] gate, WeightMatrix[] up, float[][][] x, float[][][] h, float[][][] u) {
        if (gate.length == 0) return;
        int n = gate[0].outDim();
        WeightMatrix.PreparedInputs[] pg = prepare(gate, x), pu = prepare(up, x);
        forRange(n, (from, to) -> {
            for (int i = 0; i < gate.length; i++) {
                slice(gate[i], x[i], pg[i], h[i], from, to);
                slice(up[i], x[i], pu[i], u[i], from, to);
                for (int t = 0; t < x[i].length; t++) VectorMath.geluTimes(h[i][t], u[i][t], from, to);
            }
        });
    }

    /**
     * The second half of the experts' feed-forward and their mixture: for every i (one selected
     * expert) {@code y[i] = x[i]·down[i]}, then for every token t
     * {@code out[t] = Σ_s gates[t][s] · flat[t·selected + s]} with the terms in order of s (as
     * the reference sums), where {@code flat[t·selected + s]} is the row of the y arrays that
     * holds token t's s-th expert. One dispatch over the output rows.
     */
    void combinedMatmuls(WeightMatrix[] down, float[][][] x, float[][][] y, float[][] flat, float[][] gates, float[][] out) {
        if (down.length == 0) return;
        int n = down[0].outDim();
        int selected = gates[0].length;
        WeightMatrix.PreparedInputs[] p = prepare(down, x);
        forRange(n, (from, to) -> {
            for (int i = 0; i < down.length; i++) slice(down[i], x[i], p[i], y[i], from, to);
            for (int t = 0; t < out.length; t++) {
                float[] o = out[t];
                java.util.Arrays.fill(o, from, to, 0f);
                for (int s = 0; s < selected; s++) VectorMath.axpy(gates[t][s], flat[t * selected + s], from, o, from, to - from);
            }
        });
    }

    static int align(int n) {
        int a = ParallelMatmul.ALIGN;
        return (n + a - 1) / a * a;
    }

    /** One chunk of {@code y = x·W}: the matrix-vector kernel for one row, else the kernel's tiled product. */
    static void slice(WeightMatrix w, float[][] x, float[][] y, int from, int to) {
        slice(w, x, prepare(w, x), y, from, to);
    }

    /** {@link #slice} with x's per-product state from {@link #prepare}, shared by all chunks of one product. */
    static void slice(WeightMatrix w, float[][] x, WeightMatrix.PreparedInputs p, float[][] y, int from, int to) {
        if (x.length == 0) return;
        if (x.length == 1 && p == WeightMatrix.PreparedInputs.NONE) w.matvec(x[0], y[0], from, to);
        else w.matmul(x, p, y, from, to);
    }

    /**
     * The per-product input state of {@code w} for {@code x} (x rearranged into the kernel's
     * feature order, or a decode kernel's quantized x), once per product on the calling thread
     * rather than once per chunk: with 4 chunks per thread, recomputing it per chunk was ~20%
     * of a q4nl prefill, and up to ~20% of a q4nl decode product with few rows.
     */
    static WeightMatrix.PreparedInputs prepare(WeightMatrix w, float[][] x) {
        return x.length > 0 ? w.prepareInputs(x) : WeightMatrix.PreparedInputs.NONE;
    }

    static WeightMatrix.PreparedInputs[] prepare(WeightMatrix[] w, float[][][] x) {
        WeightMatrix.PreparedInputs[] p = new WeightMatrix.PreparedInputs[w.length];
        for (int i = 0; i < w.length; i++) p[i] = prepare(w[i], x[i]);
        return p;
    }

    @Override
    public void close() {
        pool.close();
    }
}
