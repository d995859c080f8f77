package grokkit.quant;

import java.util.Locale;

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
 *     <td>{@code log8}: out×ceil(in/G) bytes (sign + 7-bit log2 step of a per-matrix float32
 *     base S), then, 4-aligned, S (float32) and {@code in} f16 channel scales c. Default G = 32:
 *     4.25 bits/weight + 16·in bits per matrix</td></tr>
 * </table>
 *
 * @param name      encoding name as written in the manifest
 * @param groupSize inputs per scale (0 for f32/bf16)
 * @param scaleType {@code "bf16"}, {@code "f16"}, {@code "log8"} (q4nl only) or {@code "none"}
 */
public record EncodingSpec(String name, int groupSize, String scaleType) {
    public static final String F32 = "f32";
    public static final String BF16 = "bf16";
    public static final String INT8_ROWBLOCK = "int8-rowblock";
    public static final String Q8 = "q8";
    public static final String Q4 = "q4";
    public static final String Q4_0 = "q4_0";
    public static final String Q4NL = "q4nl";

    public static EncodingSpec f32() { return new EncodingSpec(F32, 0, "none"); }
    public static EncodingSpec bf16() { return new EncodingSpec(BF16, 0, "none"); }
    public static EncodingSpec int8RowBlock(int in, int rowBlocks) { return new EncodingSpec(INT8_ROWBLOCK, in / rowBlocks, "bf16"); }
    public static EncodingSpec q8(int groupSize, String scaleType) { return new EncodingSpec(Q8, groupSize, scaleType); }
    public static EncodingSpec q4(int groupSize, String scaleType) { return new EncodingSpec(Q4, groupSize, scaleType); }
    public static EncodingSpec q4_0() { return new EncodingSpec(Q4_0, 32, "f16"); }
    /** {@code q4nl} with log-coded group scales ({@link Q4Nl}); G = 32 is the default int4 for experts. */
    public static EncodingSpec q4nl(int groupSize) { return new EncodingSpec(Q4NL, groupSize, "log8"); }

    /** Bytes of the weights region of an {@code [in, out]} matrix. */
    public long weightBytes(int in, int out) {
        long n = (long) in * out;
        return switch (name) {
            case F32 -> 4 * n;
            case BF16 -> 2 * n;
            case INT8_ROWBLOCK, Q8 -> n;
            case Q4 -> n / 2;
            case Q4_0 -> (long) out * groupsPerRow(in) * 16; // = n/2 unless a ragged last block is zero-padded
            case Q4NL -> (long) out * groupsPerRow(in) * (groupSize / 2);
            default -> throw new IllegalArgumentException("unknown encoding " + name);
        };
    }

    /** Bytes of the scales region of an {@code [in, out]} matrix. */
    public long scaleBytes(int in, int out) {
        if (Q4NL.equals(name)) return Q4Nl.scaleBytes(in, out, groupSize);
        return groupSize == 0 ? 0 : 2L * out * groupsPerRow(in);
    }

    /** Scales per stored row: {@code ceil(in / groupSize)} (only q4nl allows a ragged last group). */
    public int groupsPerRow(int in) {
        return groupSize == 0 ? 0 : (in + groupSize - 1) / groupSize;
    }

    /** Bits per weight including scales. */
    public double bitsPerWeight(int in, int out) {
        return 8.0 * (weightBytes(in, out) + scaleBytes(in, out)) / ((double) in * out);
    }

    /** Throws unless this spec can encode an {@code [in, out]} matrix. */
    public void checkShape(int in, int out) {
        if (Q4NL.equals(name)) {
            if (groupSize <= 0 || groupSize % 2 != 0)
                throw new IllegalArgumentException(name + ": group size must be positive and even, got " + groupSize);
            if (!"log8".equals(scaleType))
                throw new IllegalArgumentException(name + ": scale type must be log8, got " + scaleType);
            return;
        }
        if (Q4_0.equals(name)) {
            if (groupSize != 32 || !"f16".equals(scaleType))
                throw new IllegalArgumentException(name + ": blocks of 32 with f16 scales only, got " + groupSize + "/" + scaleType);
            return; // a ragged last block is zero-padded (see Q4_0 in the table above)
        }
        if (groupSize < 0 || (groupSize > 0 && in % groupSize != 0))
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s: input dimension %d is not a multiple of the group size %d", name, in, groupSize));
        if ((Q4.equals(name) || Q4_0.equals(name)) && groupSize % 2 != 0)
            throw new IllegalArgumentException(name + ": group size must be even");
    }
}
