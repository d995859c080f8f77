package grokkit.export;

/**
 * The float rows of one GGUF tensor, as the codecs consume them. A 2-D tensor {@code {in, out}}
 * is one unit of {@code out} rows; an expert tensor {@code {in, out, E}} is E units (one per
 * expert) of {@code out} rows each, stored unit after unit. Thread-safe.
 */
public interface TensorRows {
    /** {@code ne0}: values per row. */
    int rowLength();

    /** 1, or the number of experts. */
    int units();

    int rowsPerUnit();

    /** Rows {@code [o0, o0 + n)} of unit {@code unit} into {@code dst[t·rowLength + i]}. */
    void read(int unit, int o0, int n, float[] dst);

    /**
     * The importance of each of a row's inputs for the quantizer (length {@link #rowLength}),
     * the same for every row of the unit; null for none.
     */
    default float[] importance(int unit) {
        return null;
    }

    long sourceBytes();

    /** A 2-D tensor over one source matrix. */
    static TensorRows of(Rows r) {
        return new TensorRows() {
            @Override public int rowLength() { return r.in(); }
            @Override public int units() { return 1; }
            @Override public int rowsPerUnit() { return r.out(); }
            @Override public void read(int unit, int o0, int n, float[] dst) { r.read(o0, n, dst); }
            @Override public long sourceBytes() { return r.sourceBytes(); }
        };
    }
}
