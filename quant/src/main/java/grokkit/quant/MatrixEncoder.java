package grokkit.quant;

/**
 * Encodes the out-major float rows of one {@code [in, out]} matrix into an encoding's bytes, and
 * decodes them back for the conversion report's error. Made by {@link Encoding#encoder} (the
 * prepare step: nothing for row-local encodings, channel statistics for q4nl); then used for
 * tiles of consecutive rows, from many threads at once (implementations are immutable).
 *
 * <p>The scales region of a matrix is {@link #headerBytes} of per-matrix data (q4nl's base and
 * channel scales; none for the other encodings) followed by {@link #scaleRowBytes} per row, so
 * a tile of rows {@code [o0, o0 + rows)} owns the bytes at {@code headerBytes() + o0·scaleRowBytes()}.
 * Output bytes depend only on the source values (and the prepare step's inputs), never on how
 * the rows are split into tiles or threads.
 */
public interface MatrixEncoder {
    /** The encoding and its parameters. */
    EncodingSpec spec();

    /** Inputs per row. */
    int in();

    /** Bytes of the per-matrix header at the start of the scales region (0 unless q4nl). */
    default int headerBytes() {
        return 0;
    }

    /** Writes the header ({@link #headerBytes} bytes) at {@code dst[off..]}; nothing for most encodings. */
    default void writeHeader(byte[] dst, int off) {}

    /** Bytes of one row in the weights region. */
    int weightRowBytes();

    /** Bytes of one row's scales in the scales region (after the header). */
    int scaleRowBytes();

    /**
     * Encodes {@code rows} consecutive rows of {@link #in} floats starting at {@code src[srcOff]}:
     * weight bytes to {@code w[wOff..]}, row scales to {@code s[sOff..]} (rows back to back). The
     * destination bytes must be zero on entry (padding nibbles are left as they are).
     */
    void encodeRows(float[] src, int srcOff, int rows, byte[] w, int wOff, byte[] s, int sOff);

    /**
     * Decodes one row that {@link #encodeRows} wrote (its weight bytes at {@code w[wOff..]}, its
     * scales at {@code s[sOff..]}) into {@code dst[0, in)}, bit for bit as
     * {@link Dequantizer#row} decodes the stored matrix.
     */
    void decodeRow(byte[] w, int wOff, byte[] s, int sOff, float[] dst);
}
