package grokkit.runtime;

/**
 * How the runtime uses the machine.
 *
 * @param threads      worker threads for the matrix products (output rows are split across them);
 *                     1 computes everything on the calling thread
 * @param maxContext   the most tokens a session may hold (prompt + generated); 0 means the
 *                     model's {@code sequence_len}. The KV cache grows on demand up to this, so a
 *                     large limit costs nothing until it is used.
 * @param prefillChunk prompt tokens processed together by one matrix-matrix pass; bounds the
 *                     activation memory of a long prompt (≈ chunk × ffn_size × 12 bytes)
 * @param warmUp       run {@link GrokModel#warmUp} when the model is opened, so the first prompt
 *                     does not run in interpreted vector code
 */
public record RuntimeOptions(int threads, int maxContext, int prefillChunk, boolean warmUp) {
    public RuntimeOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (maxContext < 0) throw new IllegalArgumentException("maxContext must be >= 0, got " + maxContext);
        if (prefillChunk < 1) throw new IllegalArgumentException("prefillChunk must be >= 1, got " + prefillChunk);
    }

    /** Without the warm-up at load. */
    public RuntimeOptions(int threads, int maxContext, int prefillChunk) {
        this(threads, maxContext, prefillChunk, false);
    }

    /** All available processors, the model's full context, prompts in chunks of 128 tokens, warm-up at load. */
    public static RuntimeOptions defaults() {
        return new RuntimeOptions(Runtime.getRuntime().availableProcessors(), 0, 128, true);
    }

    public RuntimeOptions withThreads(int n) {
        return new RuntimeOptions(n, maxContext, prefillChunk, warmUp);
    }

    public RuntimeOptions withMaxContext(int n) {
        return new RuntimeOptions(threads, n, prefillChunk, warmUp);
    }

    public RuntimeOptions withPrefillChunk(int n) {
        return new RuntimeOptions(threads, maxContext, n, warmUp);
    }

    public RuntimeOptions withWarmUp(boolean on) {
        return new RuntimeOptions(threads, maxContext, prefillChunk, on);
    }
}
