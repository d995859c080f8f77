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
    private volatile boolean closed;

    /** A pool with {@code threads} threads in total (the caller counts as one). */
    public ParallelMatmul(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be ≥ 1, got " + threads);
        workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker("grok-matmul-" + (i + 1));
            workers[i].start();
        }
    }

    /** A pool sized by the system property {@code grok.threads}, else the available processors. */
    public ParallelMatmul() {
        this(defaultThreads());
    }

    /** {@code grok.threads} if set, else {@link Runtime#availableProcessors()}. */
    public static int defaultThreads() {
        return Math.max(1, Integer.getInteger("grok.threads", Runtime.getRuntime().availableProcessors()));
    }

    public int threads() {
        return workers.length + 1;
    }

    /** {@code y = x·W} over all outputs. */
    public void matvec(WeightMatrix w, float[] x, float[] y) {
        forRange(w.outDim(), (from, to) -> w.matvec(x, y, from, to));
    }

    /** {@code y[t] = x[t]·W} for every row t, over all outputs. */
    public void matmul(WeightMatrix w, float[][] x, float[][] y) {
        forRange(w.outDim(), (from, to) -> w.matmul(x, y, from, to));
    }

    /** Runs {@code task} over {@code [0, n)} split into cache-line-aligned chunks across the pool. */
    public void forRange(int n, RangeTask task) {
        if (n <= 0) return;
        int chunk = chunkSize(n, threads());
        if (workers.length == 0 || chunk >= n || lock.isHeldByCurrentThread() || Thread.currentThread() instanceof Worker) {
            task.run(0, n);
            return;
        }
        if (closed) throw new IllegalStateException("ParallelMatmul is closed");
        lock.lock();
        try {
            Job job = new Job(task, n, chunk, workers.length, Thread.currentThread());
            for (Worker w : workers) w.submit(job);
            job.work();
            job.awaitWorkers();
            job.rethrow();
        } finally {
            lock.unlock();
        }
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

    /** One call of {@link #forRange}: chunks claimed through an atomic counter. */
    private static final class Job {
        final RangeTask task;
        final int n, chunk, chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pendingWorkers;
        final Thread caller;
        volatile Throwable error;

        Job(RangeTask task, int n, int chunk, int workers, Thread caller) {
            this.task = task;
            this.n = n;
            this.chunk = chunk;
            this.chunks = (n + chunk - 1) / chunk;
            this.pendingWorkers = new AtomicInteger(workers);
            this.caller = caller;
        }

        void work() {
            try {
                for (int c; error == null && (c = next.getAndIncrement()) < chunks; ) {
                    int from = c * chunk;
                    task.run(from, Math.min(n, from + chunk));
                }
            } catch (Throwable t) {
                if (error == null) error = t;
            }
        }

        void workerDone() {
            if (pendingWorkers.decrementAndGet() == 0) LockSupport.unpark(caller);
        }

        void awaitWorkers() {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (pendingWorkers.get() > 0) {
                if (System.nanoTime() < spinUntil) Thread.onSpinWait();
                else LockSupport.park(this);
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

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        void submit(Job job) {
            slot = job;
            LockSupport.unpark(this);
        }

        @Override
        public void run() {
            while (!closed) {
                Job job = slot;
                if (job == null) {
                    long spinUntil = System.nanoTime() + SPIN_NANOS;
                    while ((job = slot) == null && !closed) {
                        if (System.nanoTime() < spinUntil) Thread.onSpinWait();
                        else LockSupport.park(this);
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
