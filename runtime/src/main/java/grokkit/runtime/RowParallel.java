package grokkit.runtime;

import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.ParallelMatmul;

/**
 * Splits the output rows of the forward pass's matrix products across threads, on the kernels'
 * {@link ParallelMatmul} pool. The one place that knows how work is spread over cores.
 *
 * <p>A group of products (q, k and v of a layer; both projections of every selected expert) is
 * one dispatch: the matrices' output ranges are laid end to end, each padded to the pool's
 * 16-row alignment, and the pool's chunks are mapped back onto them. A decode step thus pays one
 * barrier per group, not per matrix, and a chunk never straddles two matrices unaligned.
 */
final class RowParallel implements AutoCloseable {
    /** A body over a contiguous index range {@code [from, to)}. */
    interface RangeBody {
        void run(int from, int to);
    }

    private final ParallelMatmul pool;

    RowParallel(int threads) {
        this.pool = new ParallelMatmul(threads);
    }

    int threads() {
        return pool.threads();
    }

    /** Runs {@code body} over {@code [0, n)} split across the threads. */
    void forRange(int n, RangeBody body) {
        if (n <= 0) return;
        pool.forRange(n, body::run);
    }

    /** {@code y = x·W}. */
    void matvec(WeightMatrix w, float[] x, float[] y) {
        pool.matvec(w, x, y);
    }

    /** {@code y = x·W} over T rows ({@code x} is {@code [T][in]}, {@code y} is {@code [T][out]}). */
    void matmul(WeightMatrix w, float[][] x, float[][] y) {
        matmuls(new WeightMatrix[] {w}, new float[][][] {x}, new float[][][] {y});
    }

    /** {@code y[i] = x[i]·W[i]} for every i, in one dispatch; one-row inputs use the matrix-vector kernel. */
    void matmuls(WeightMatrix[] w, float[][][] x, float[][][] y) {
        int[] start = new int[w.length + 1];
        for (int i = 0; i < w.length; i++) start[i + 1] = start[i] + align(w[i].outDim());
        pool.forRange(start[w.length], (from, to) -> {
            for (int i = 0; i < w.length; i++) {
                int lo = Math.max(from, start[i]) - start[i];
                int hi = Math.min(to, start[i] + w[i].outDim()) - start[i];
                if (lo < hi) slice(w[i], x[i], y[i], lo, hi);
            }
        });
    }

    static int align(int n) {
        int a = ParallelMatmul.ALIGN;
        return (n + a - 1) / a * a;
    }

    private static void slice(WeightMatrix w, float[][] x, float[][] y, int from, int to) {
        if (x.length == 0) return;
        if (x.length == 1) w.matvec(x[0], y[0], from, to);
        else w.matmul(x, y, from, to);
    }

    @Override
    public void close() {
        pool.close();
    }
}
