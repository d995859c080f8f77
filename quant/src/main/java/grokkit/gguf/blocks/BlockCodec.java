package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/**
 * Quantizes and dequantizes rows of one ggml block type, bit-exactly in the layout llama.cpp's
 * ggml reads ({@link GgmlType} gives the geometry). Implementations are stateless and
 * thread-safe: the export calls one codec from many threads at once.
 */
public interface BlockCodec {
    /** The type this codec writes. */
    GgmlType type();

    /**
     * Quantizes {@code row[off, off + n)} into {@code dst[dstOff, dstOff + type().rowBytes(n))}.
     * The result is a deterministic function of the inputs (no randomness, no dependence on
     * threads).
     *
     * @param row        source values (float32)
     * @param off        first value of the row
     * @param n          values in the row, a multiple of {@code type().blockSize()}
     * @param importance {@code null}, or non-negative weights of length ≥ n where
     *                   {@code importance[j]} is the importance of {@code row[off + j]} (an
     *                   importance matrix's entry for input j): the quantizer minimises the
     *                   importance-weighted squared error instead of the plain one
     * @param dst        output bytes
     * @param dstOff     first output byte
     */
    void quantizeRow(float[] row, int off, int n, float[] importance, byte[] dst, int dstOff);

    /** Decodes {@code n} values from {@code src[srcOff, …)} into {@code dst[dstOff, dstOff + n)}, as ggml does. */
    void dequantizeRow(byte[] src, int srcOff, int n, float[] dst, int dstOff);
}
