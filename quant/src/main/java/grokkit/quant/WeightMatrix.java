package grokkit.quant;

/**
 * A weight matrix of the model, read by the runtime's kernels: {@code y = x · W} with W
 * logically {@code [in, out]} as in the reference ({@code w} is {@code [in, out]}).
 *
 * <p>Implementations store W <em>out-major</em> (row {@code o} holds the {@code in} weights
 * feeding output {@code o}, contiguous), so a matrix-vector product streams memory once and
 * output rows split cleanly across threads. They may be backed by memory-mapped shards
 * (no copy into the heap) and dequantize on the fly.
 */
public interface WeightMatrix {
    /** Input dimension (length of x). */
    int inDim();

    /** Output dimension (length of y). */
    int outDim();

    /** The encoding name as written in the manifest (e.g. {@code int8-rowblock}, {@code q4}). */
    String encoding();

    /** Bytes of weights and scales that a full product reads. */
    long byteSize();

    /** {@code y[o] = Σ_i x[i]·W[i,o]} for {@code o} in {@code [from, to)}; other entries of y untouched. */
    void matvec(float[] x, float[] y, int from, int to);

    /**
     * Matrix-matrix product over T input rows: {@code y[t][o] = Σ_i x[t][i]·W[i,o]} for
     * {@code o} in {@code [from, to)}. Kernels override this to reuse each weight load across
     * the T rows (prefill); the default is T matrix-vector products.
     */
    default void matmul(float[][] x, float[][] y, int from, int to) {
        for (int t = 0; t < x.length; t++) matvec(x[t], y[t], from, to);
    }

    /**
     * What a product over the tokens {@code x} needs from them alone (e.g. x rearranged into a
     * kernel's feature order, or quantized), computed once per product so that the threads'
     * output ranges share it instead of each range recomputing it; pass it to
     * {@link #matmul(float[][], PreparedInputs, float[][], int, int)} with the same {@code x},
     * unchanged. Also for one token: a kernel may prepare what its matrix-vector loop needs.
     */
    default PreparedInputs prepareInputs(float[][] x) {
        return PreparedInputs.NONE;
    }

    /** {@link #matmul(float[][], float[][], int, int)} with inputs from {@link #prepareInputs} of this matrix and this {@code x}. */
    default void matmul(float[][] x, PreparedInputs prepared, float[][] y, int from, int to) {
        matmul(x, y, from, to);
    }

    /** Opaque per-product input state of a kernel ({@link #prepareInputs}). */
    interface PreparedInputs {
        PreparedInputs NONE = new PreparedInputs() {};
    }

    /** The dequantized weights feeding output {@code o}, i.e. column o of W, into {@code dst[0..in)}. */
    void dequantizeColumn(int o, float[] dst);
}
