package grokkit.export;

/**
 * One source matrix as out-major float32 rows: row o holds the {@code in()} weights feeding
 * output o, which is exactly a ggml row ({@code ne0 = in}). Implementations are thread-safe.
 */
public interface Rows {
    int in();

    int out();

    /** Source bytes read for all rows (for progress and throughput). */
    long sourceBytes();

    /** Rows {@code [o0, o0 + n)} into {@code dst[t·in + i]}. */
    void read(int o0, int n, float[] dst);
}
