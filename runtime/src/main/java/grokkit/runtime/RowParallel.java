package grokkit.runtime;

import grokkit.quant.WeightMatrix;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits the output rows of matrix products across a fixed set of threads (the caller plus
 * {@code threads - 1} daemon workers). This is the one place that knows how work is spread over
 * cores, so switching to the kernels' {@code ParallelMatmul} touches only this class.
 *
 * <p>One dispatch hands every thread one slice of each matrix of the call (e.g. q, k and v of a
 * layer together), so a decode step pays one barrier per group of products, not per product.
 * Workers spin briefly after a dispatch (the next one usually follows within microseconds in
 * decode) and then park, so an idle model costs no CPU.
 */
final class RowParallel implements AutoCloseable {
    /** One thread's share of a dispatch: slice {@code part} of {@code parts}. */
    interface Job {
        void run(int part, int parts);
    }

    /** A body over a contiguous index range {@code [from, to)}. */
    interface RangeBody {
        void run(int from, int to);
    }

    private static final int SPIN_ITERATIONS = 20_000;
    /** Slice boundaries fall on multiples of this many rows, so kernels can block rows freely. */
    private static final int ROW_ALIGN = 16;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Job job;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;
    private volatile Thread caller;

    RowParallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            final int part = i + 1;
            Thread t = new Thread(() -> workLoop(part), "grok-rows-" + part);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    int threads() {
        return threads;
    }

    /** Runs {@code job} on every thread (part 0 on the caller) and returns when all are done. */
    synchronized void run(Job job) {
        if (closed) throw new IllegalStateException("RowParallel is closed");
        if (threads == 1) {
            job.run(0, 1);
            return;
        }
        failure = null;
        caller = Thread.currentThread();
        this.job = job;
        pending.set(workers.length);
        generation++;
        for (Thread w : workers) LockSupport.unpark(w);
        Throwable own = null;
        try {
            job.run(0, threads);
        } catch (Throwable t) {
            own = t;
        }
        int spins = 0;
        while (pending.get() != 0) {
            if (spins++ < SPIN_ITERATIONS) Thread.onSpinWait();
            else LockSupport.parkNanos(this, 50_000);
        }
        this.job = null;
        Throwable f = own != null ? own : failure;
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error e) throw e;
        if (f != null) throw new IllegalStateException(f);
    }

    private void workLoop(int part) {
        int seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (spins++ < SPIN_ITERATIONS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            if (closed) return;
            seen = generation;
            Job j = job;
            try {
                if (j != null) j.run(part, threads);
            } catch (Throwable t) {
                failure = t;
            } finally {
                if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
            }
        }
    }

    /** Start of slice {@code part} of {@code parts} over {@code n} rows (aligned, monotone, ends at n). */
    static int sliceStart(int n, int part, int parts) {
        if (part >= parts) return n;
        long raw = (long) n * part / parts;
        int aligned = (int) ((raw + ROW_ALIGN / 2) / ROW_ALIGN * ROW_ALIGN);
        return Math.min(aligned, n);
    }

    /** Runs {@code body} over {@code [0, n)} split across the threads. */
    void forRange(int n, RangeBody body) {
        if (n <= 0) return;
        if (threads == 1 || n == 1) {
            body.run(0, n);
            return;
        }
        run((part, parts) -> {
            int from = (int) ((long) n * part / parts), to = (int) ((long) n * (part + 1) / parts);
            if (from < to) body.run(from, to);
        });
    }

    /** {@code y = x·W}. */
    void matvec(WeightMatrix w, float[] x, float[] y) {
        matvecs(new WeightMatrix[] {w}, new float[][] {x}, new float[][] {y});
    }

    /** {@code y[i] = x[i]·W[i]} for every i, in one dispatch. */
    void matvecs(WeightMatrix[] w, float[][] x, float[][] y) {
        if (threads == 1) {
            for (int i = 0; i < w.length; i++) w[i].matvec(x[i], y[i], 0, w[i].outDim());
            return;
        }
        run((part, parts) -> {
            for (int i = 0; i < w.length; i++) {
                int n = w[i].outDim();
                int from = sliceStart(n, part, parts), to = sliceStart(n, part + 1, parts);
                if (from < to) w[i].matvec(x[i], y[i], from, to);
            }
        });
    }

    /** {@code y = x·W} over T rows ({@code x} is {@code [T][in]}, {@code y} is {@code [T][out]}). */
    void matmul(WeightMatrix w, float[][] x, float[][] y) {
        matmuls(new WeightMatrix[] {w}, new float[][][] {x}, new float[][][] {y});
    }

    /** {@code y[i] = x[i]·W[i]} for every i, in one dispatch. */
    void matmuls(WeightMatrix[] w, float[][][] x, float[][][] y) {
        if (threads == 1) {
            for (int i = 0; i < w.length; i++) matmulSlice(w[i], x[i], y[i], 0, w[i].outDim());
            return;
        }
        run((part, parts) -> {
            for (int i = 0; i < w.length; i++) {
                int n = w[i].outDim();
                int from = sliceStart(n, part, parts), to = sliceStart(n, part + 1, parts);
                if (from < to) matmulSlice(w[i], x[i], y[i], from, to);
            }
        });
    }

    /** One row is a matrix-vector product: use the kernel made for it (decode). */
    private static void matmulSlice(WeightMatrix w, float[][] x, float[][] y, int from, int to) {
        if (x.length == 0) return;
        if (x.length == 1) w.matvec(x[0], y[0], from, to);
        else w.matmul(x, y, from, to);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
