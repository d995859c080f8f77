package grokkit.convert;

/**
 * A source parameter as out-major float rows, for readers outside this package (the GGUF
 * export): row o holds the {@code in} weights that feed output o, {@code w[i, o]} in the
 * checkpoint's {@code [in, out]} terms. int8 weights come back as xAI's {@code q·s} in float32,
 * exact, with row-block-sharded scales applied per block of input rows as the reference does.
 * Thread-safe: each thread reads with its own scratch buffers.
 */
public final class MatrixRows {
    private static final ThreadLocal<byte[][]> SCRATCH = ThreadLocal.withInitial(() -> new byte[][] {new byte[0]});
    private static final ThreadLocal<float[][]> TMP = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    private final MatrixView view;

    private MatrixRows(MatrixView view) {
        this.view = view;
    }

    /** The embedding table {@code [vocab, emb]}: row t is token t's embedding. */
    public static MatrixRows embeddings(SourceTensor t) {
        return new MatrixRows(MatrixView.rowsAreOutputs(t.weight()));
    }

    /** A float32 vector {@code [n]} as one row. */
    public static MatrixRows vector(SourceTensor t) {
        return new MatrixRows(MatrixView.vector(t.weight()));
    }

    /** A float32 weight {@code [in, out]} (the router), or xAI's int8 one with its scales. */
    public static MatrixRows weight(SourceTensor t) {
        return new MatrixRows(t.quantized() ? MatrixView.quantized(t, -1) : MatrixView.weight(t.weight()));
    }

    /** Expert {@code e} of xAI's int8 {@code [E, in, out]} with scales {@code [E, blocks, out]}. */
    public static MatrixRows expert(SourceTensor t, int e) {
        return new MatrixRows(MatrixView.quantized(t, e));
    }

    public int in() {
        return view.in;
    }

    public int out() {
        return view.out;
    }

    /** Source bytes behind these rows (weights and scales). */
    public long sourceBytes() {
        return view.sourceBytes();
    }

    /** Rows {@code [o0, o0 + rows)} into {@code dst[t·in + i]}. */
    public void read(int o0, int rows, float[] dst) {
        int n = rows * view.in;
        byte[][] b = SCRATCH.get();
        if (b[0].length < Math.max(n, MatrixView.BLOCK * rows)) b[0] = new byte[Math.max(n, MatrixView.BLOCK * rows)];
        float[][] tmp = TMP.get();
        if (tmp[0].length < MatrixView.BLOCK * rows) tmp[0] = new float[MatrixView.BLOCK * rows];
        view.readFloats(o0, rows, dst, b[0], tmp[0]);
    }
}
