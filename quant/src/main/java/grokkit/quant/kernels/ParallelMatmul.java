package grokkit.quant.kernels;

import grokkit.quant.WeightMatrix;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs products on a small pool of platform threads by splitting the output range
 * {@code [0, out)} into chunks whose boundaries are multiples of {@link #ALIGN} outputs (one
 * 64-byte cache line of float32 y), so no two threads write the same line of y.
 *
 * <p>Chunks are claimed dynamically (a few per thread) rather than split statically, so a
 * thread slowed by another process on a shared core does not hold up the product. The calling
 * thread works too; workers spin briefly between jobs (decode issues products back to back,
 * a few µs apart) and then park, so an idle pool costs no CPU.
 *
 * <p>{@link #forRange(int, int, RangeTask)} sizes chunks for the runtime's decode step instead:
 * large first, shrinking toward the end (guided scheduling), so the last chunks are short and a
 * thread that another process delays holds up the others less. A pool built with a longer spin
 * ({@link #ParallelMatmul(int, long)}) keeps its workers awake across the short serial gaps
 * between the products of one token, so a product never starts with a wake-up.
 *
 * <p>Thread-safe: concurrent callers are serialised; a task that itself calls this pool (from
 * the caller's chunk or a worker) runs inline.
 */
public final class ParallelMatmul implements AutoCloseable {
    /** Chunk boundaries are multiples of this many outputs (16 floats = one cache line). */
    public static final int ALIGN = 16;
    /** Chunks per thread: enough for dynamic load balancing, few enough to keep overhead tiny. */
    private static final int CHUNKS_PER_THREAD = 4;
    /** How long an idle worker or a waiting caller spins before parking. */
    private static final long SPIN_NANOS = 50_000;

    /** Work on the output range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private final Worker[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private final long spinNanos;
    private volatile boolean closed;

    /** A pool with {@code threads} threads in total (the caller counts as one). */
    public ParallelMatmul(int threads) {
        this(threads, SPIN_NANOS);
    }

    /**
     * A pool whose idle workers (and waiting caller) spin for {@code spinNanos} before parking:
     * longer than the gaps between a caller's products keeps the hand-off at a few hundred ns
     * instead of a thread wake-up (tens of µs, much more when the cores are shared).
     */
    public ParallelMatmul(int threads, long spinNanos) {
        if (threads < 1) throw new IllegalArgumentException("threads must be ≥ 1, got " + threads);
        if (spinNanos < 0) throw new IllegalArgumentException("spinNanos must be ≥ 0, got " + spinNanos);
        this.spinNanos = spinNanos;
        workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker("grok-matmul-" + (i + 1));
            workers[i].start();
        }
    }

    public int threads() {
        return workers.length + 1;
    }

    /** {@code y = x·W} over all outputs. */
    public void matvec(WeightMatrix w, float[] x, float[] y) {
        // x's per-product state once, not once per chunk (a decode kernel's quantized x).
        float[][] xs = {x}, ys = {y};
        WeightMatrix.PreparedInputs p = w.prepareInputs(xs);
        if (p == WeightMatrix.PreparedInputs.NONE) forRange(w.outDim(), (from, to) -> w.matvec(x, y, from, to));
        else forRange(w.outDim(), (from, to) -> w.matmul(xs, p, ys, from, to));
    }

    /** {@code y[t] = x[t]·W} for every row t, over all outputs. */
    public void matmul(WeightMatrix w, float[][] x, float[][] y) {
        // x's per-product state once, not once per chunk (see WeightMatrix.prepareInputs).
        WeightMatrix.PreparedInputs p = x.length > 0 ? w.prepareInputs(x) : WeightMatrix.PreparedInputs.NONE;
        forRange(w.outDim(), (from, to) -> w.matmul(x, p, y, from, to));
    }

    /** Runs {@code task} over {@code [0, n)} split into cache-line-aligned chunks across the pool. */
    public void forRange(int n, RangeTask task) {
        if (n <= 0) return;
        int chunk = chunkSize(n, threads());
        if (workers.length == 0 || chunk >= n || lock.isHeldByCurrentThread() || Thread.currentThread() instanceof Worker) {
            task.run(0, n);
            return;
        }
        run(task, evenBounds(n, chunk));
    }

    /**
     * Runs {@code task} over {@code [0, n)} in chunks whose boundaries are multiples of
     * {@code grain}, guided: each chunk is about the remaining work over twice the threads, but
     * at least {@code n / (8·threads)}, so the chunks shrink toward the end. Runs inline when the
     * range is a single chunk.
     */
    public void forRange(int n, int grain, RangeTask task) {
        if (grain < 1) throw new IllegalArgumentException("grain must be ≥ 1, got " + grain);
        if (n <= 0) return;
        if (workers.length == 0 || n <= grain || lock.isHeldByCurrentThread() || Thread.currentThread() instanceof Worker) {
            task.run(0, n);
            return;
        }
        run(task, guidedBounds(n, grain, threads()));
    }

    private void run(RangeTask task, int[] bounds) {
        if (closed) throw new IllegalStateException("ParallelMatmul is closed");
        lock.lock();
        try {
            Job job = new Job(task, bounds, workers.length, Thread.currentThread(), spinNanos);
            for (Worker w : workers) w.submit(job);
            job.work();
            job.awaitWorkers();
            job.rethrow();
        } finally {
            lock.unlock();
        }
    }

    /** Boundaries of equal chunks of {@code chunk} (the last one shorter): 0, chunk, 2·chunk, …, n. */
    static int[] evenBounds(int n, int chunk) {
        int chunks = (n + chunk - 1) / chunk;
        int[] b = new int[chunks + 1];
        for (int c = 1; c < chunks; c++) b[c] = c * chunk;
        b[chunks] = n;
        return b;
    }

    /** Guided chunk boundaries (see {@link #forRange(int, int, RangeTask)}), multiples of grain except n. */
    static int[] guidedBounds(int n, int grain, int threads) {
        int floor = roundUp(Math.max(1, n / (8 * threads)), grain);
        int[] b = new int[n / Math.max(1, Math.min(floor, n)) + 2];
        int count = 0, at = 0;
        while (at < n) {
            int piece = Math.max(floor, roundUp((n - at) / (2 * threads), grain));
            at = (int) Math.min(n, (long) at + piece);
            b[++count] = at;
        }
        return java.util.Arrays.copyOf(b, count + 1);
    }

    private static int roundUp(int v, int grain) {
        return (int) Math.min(Integer.MAX_VALUE, ((long) v + grain - 1) / grain * grain);
    }

    /** Chunk length for n outputs on t threads: about n/(4t), rounded up to a multiple of ALIGN. */
    static int chunkSize(int n, int threads) {
        int pieces = threads * CHUNKS_PER_THREAD;
        int c = (n + pieces - 1) / pieces;
        c = (c + ALIGN - 1) / ALIGN * ALIGN;
        return Math.max(ALIGN, c);
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) LockSupport.unpark(w);
        for (Worker w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One call of {@link #forRange}: chunks {@code [bounds[c], bounds[c+1])} claimed through an atomic counter. */
    private static final class Job {
        final RangeTask task;
        final int[] bounds;
        final int chunks;
        final long spinNanos;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pendingWorkers;
        final Thread caller;
        /** Set while the caller is parked (not spinning): only then does the last worker unpark it. */
        volatile boolean callerParked;
        volatile Throwable error;

        Job(RangeTask task, int[] bounds, int workers, Thread caller, long spinNanos) {
            this.task = task;
            this.bounds = bounds;
            this.chunks = bounds.length - 1;
            this.pendingWorkers = new AtomicInteger(workers);
            this.caller = caller;
            this.spinNanos = spinNanos;
        }

        void work() {
            try {
                for (int c; error == null && (c = next.getAndIncrement()) < chunks; ) {
                    task.run(bounds[c], bounds[c + 1]);
                }
            } catch (Throwable t) {
                if (error == null) error = t;
            }
        }

        void workerDone() {
            if (pendingWorkers.decrementAndGet() == 0 && callerParked) LockSupport.unpark(caller);
        }

        void awaitWorkers() {
            long spinUntil = System.nanoTime() + spinNanos;
            while (pendingWorkers.get() > 0) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    callerParked = true; // volatile write, then re-read: the last worker sees it or we see 0
                    if (pendingWorkers.get() > 0) LockSupport.park(this);
                    callerParked = false;
                }
            }
        }

        void rethrow() {
            Throwable t = error;
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);
        }
    }

    private final class Worker extends Thread {
        private volatile Job slot;
        /** Set while parked (not spinning): only then does a submit pay for an unpark. */
        private volatile boolean parked;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        void submit(Job job) {
            slot = job;
            if (parked) LockSupport.unpark(this);
        }

        @Override
        public void run() {
            while (!closed) {
                Job job = slot;
                if (job == null) {
                    long spinUntil = System.nanoTime() + spinNanos;
                    while ((job = slot) == null && !closed) {
                        if (System.nanoTime() < spinUntil) {
                            Thread.onSpinWait();
                        } else {
                            parked = true; // volatile write, then re-read: a submit sees it or we see the job
                            if (slot == null && !closed) LockSupport.park(this);
                            parked = false;
                        }
                    }
                    if (job == null) return;
                }
                slot = null;
                job.work();
                job.workerDone();
            }
        }
    }
}
