package grokkit.quant;

/**
 * How one weight matrix W (logically {@code [in, out]}, {@code y = x·W}) is laid out in bytes.
 * Shared by the encoders (converter side) and the kernels (runtime side).
 *
 * <p>Every layout is <b>out-major</b>: row {@code o} of the stored matrix holds the {@code in}
 * weights that feed output {@code o} (column o of W), contiguous. Group-quantized encodings
 * split each row into groups of {@code groupSize} consecutive inputs, each with one scale.
 * A matrix has two byte regions, each 64-byte aligned: <i>weights</i> and <i>scales</i> (empty
 * for f32/bf16). Scales are {@code out × (in / groupSize)} 16-bit values, row-major.
 *
 * <table>
 * <tr><th>name</th><th>weights region</th><th>scales</th></tr>
 * <tr><td>{@code f32}</td><td>out×in float32, little-endian</td><td>none</td></tr>
 * <tr><td>{@code bf16}</td><td>out×in bfloat16 (upper half of float32), little-endian</td><td>none</td></tr>
 * <tr><td>{@code int8-rowblock}</td><td>out×in int8, xAI's values unchanged</td>
 *     <td>bf16, groupSize = in / rowBlocks (rowBlocks 1 = per-column scales, 8 = row-block sharded); lossless</td></tr>
 * <tr><td>{@code q8}</td><td>out×in int8, symmetric</td><td>f16 or bf16, groupSize 32/64/128</td></tr>
 * <tr><td>{@code q4}</td><td>out×in/2 bytes. Within each group of G inputs (G/2 bytes), byte j holds
 *     input j in its low nibble and input j+G/2 in its high nibble, each as {@code q+8} with
 *     {@code q ∈ [-8, 7]}; w = q·scale</td><td>f16 or bf16, groupSize 32/64/128</td></tr>
 * <tr><td>{@code q4_0}</td><td>as q4 with G = 32 and f16 scales (llama.cpp's Q4_0 block math; a
 *     comparison baseline). If {@code in} is not a multiple of 32 each row has ceil(in/32)
 *     blocks and the last is quantized as if zero-padded (its padding holds code 8 = 0)</td><td>f16</td></tr>
 * <tr><td>{@code q4nl}</td><td>as q4 (nibble layout), but a nibble is a code on a fixed non-uniform
 *     grid, and {@code in} need not be a multiple of G: each row has ceil(in/G) groups of G/2
 *     bytes; the missing inputs of a ragged last group hold code 8 and are never read.
 *     {@code W[i,o] = c[i]·groupScale·LEVELS[code]} — see {@link Q4Nl}</td>
 *     <td>{@code log8}: a header (S, float32, and {@code in} f16 channel scales c, padded to a
 *     multiple of 4 bytes), then out×ceil(in/G) bytes (sign + 7-bit log2 step of S). Default G = 32:
 *     4.25 bits/weight + 16·in bits per matrix</td></tr>
 * </table>
 *
 * <p>The byte layouts are defined in docs/FORMAT.md; the rules that depend on the encoding
 * (sizes, shapes, scale layout) live in {@link Encoding}, which this record delegates to.
 *
 * @param encoding  the encoding
 * @param groupSize inputs per scale (0 for f32/bf16)
 * @param scaleType {@code "bf16"}, {@code "f16"}, {@code "log8"} (q4nl only) or {@code "none"}
 */
public record EncodingSpec(Encoding encoding, int groupSize, String scaleType) {
    public EncodingSpec {
        java.util.Objects.requireNonNull(encoding, "encoding");
        java.util.Objects.requireNonNull(scaleType, "scaleType");
    }

    /**
     * A spec from a manifest name or alias ({@link Encoding#of}); an unknown name throws
     * {@link IllegalArgumentException}. Readers of user input parse with {@link Encoding#parse}
     * instead, which names the file or option.
     */
    public EncodingSpec(String name, int groupSize, String scaleType) {
        this(Encoding.of(name), groupSize, scaleType);
    }

    public static EncodingSpec f32() { return new EncodingSpec(Encoding.F32, 0, "none"); }
    public static EncodingSpec bf16() { return new EncodingSpec(Encoding.BF16, 0, "none"); }
    public static EncodingSpec int8RowBlock(int in, int rowBlocks) { return new EncodingSpec(Encoding.INT8_ROWBLOCK, in / rowBlocks, "bf16"); }
    public static EncodingSpec q8(int groupSize, String scaleType) { return new EncodingSpec(Encoding.Q8, groupSize, scaleType); }
    public static EncodingSpec q4(int groupSize, String scaleType) { return new EncodingSpec(Encoding.Q4, groupSize, scaleType); }
    public static EncodingSpec q4_0() { return new EncodingSpec(Encoding.Q4_0, 32, "f16"); }
    /** {@code q4nl} with log-coded group scales ({@link Q4Nl}); G = 32 is the default int4 for experts. */
    public static EncodingSpec q4nl(int groupSize) { return new EncodingSpec(Encoding.Q4NL, groupSize, "log8"); }

    /** The manifest name of the encoding ({@link Encoding#id}). */
    public String name() {
        return encoding.id();
    }

    /** Bytes of the weights region of an {@code [in, out]} matrix. */
    public long weightBytes(int in, int out) {
        return encoding.weightBytes(groupSize, in, out);
    }

    /** Bytes of the scales region of an {@code [in, out]} matrix. */
    public long scaleBytes(int in, int out) {
        return encoding.scaleBytes(groupSize, in, out);
    }

    /** Scales per stored row: {@code ceil(in / groupSize)} (only q4_0 and q4nl allow a ragged last group). */
    public int groupsPerRow(int in) {
        return encoding.groupsPerRow(groupSize, in);
    }

    /** Bits per weight including scales. */
    public double bitsPerWeight(int in, int out) {
        return 8.0 * (weightBytes(in, out) + scaleBytes(in, out)) / ((double) in * out);
    }

    /** Throws {@link IllegalArgumentException} unless this spec can encode an {@code [in, out]} matrix. */
    public void checkShape(int in, int out) {
        encoding.checkShape(this, in, out);
    }

    @Override
    public String toString() {
        return "EncodingSpec[name=" + name() + ", groupSize=" + groupSize + ", scaleType=" + scaleType + "]";
    }
}
