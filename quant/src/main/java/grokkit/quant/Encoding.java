package grokkit.quant;

import grokkit.errors.BadInputException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The weight encodings of the sharded format, one constant per encoding: the home of everything
 * encoding-specific. A constant owns its manifest name and aliases, its size and shape rules, its
 * scale layout, its scalar dequantizer ({@link #dequantizeRow}), its encoder
 * ({@link #encoder}: prepare step + row encoding) and its accuracy class (which golden-test
 * thresholds apply, {@link Fidelity}). The Vector API kernel of each encoding is chosen in
 * {@code grokkit.quant.kernels.Kernels#open}, one class per byte layout.
 *
 * <p>Every {@code switch} over this enum (here, in {@code Kernels}, in the benchmarks' random
 * models, ...) is exhaustive and has no {@code default}, so adding a constant makes the compiler
 * point at every place that must handle it. Names are parsed into an {@code Encoding} once, where
 * they are read (a manifest, an option: {@link #parse}); past that point no code compares
 * encoding name strings. docs/ARCHITECTURE.md ("Where an encoding lives") lists the steps to add one.
 */
public enum Encoding {
    /** out×in float32. */
    F32("f32", Fidelity.LOSSLESS),
    /** out×in bfloat16 (upper half of float32, round to nearest even). */
    BF16("bf16", Fidelity.LOSSLESS),
    /**
     * xAI's int8 values and bf16 scales unchanged, only transposed to out-major; group size
     * {@code in / rowBlocks}. Lossless. Alias {@code int8} (the option value of {@code grok convert}).
     */
    INT8_ROWBLOCK("int8-rowblock", Fidelity.LOSSLESS, "int8"),
    /** Symmetric int8 with new f16/bf16 group scales. */
    Q8("q8", Fidelity.EIGHT_BIT),
    /** Uniform 4-bit grid, f16/bf16 group scales, least-squared-error scale search ({@link Q4Encoder}). */
    Q4("q4", Fidelity.FOUR_BIT),
    /** llama.cpp's Q4_0 block math (G = 32, f16 scales); a comparison baseline. */
    Q4_0("q4_0", Fidelity.FOUR_BIT),
    /**
     * Non-uniform 4-bit grid, channel scales, log-coded group scales ({@link Q4Nl}). The best
     * int4 encoding (issue 6, docs/benchmarks/int4.md), hence the alias {@code int4}: this is the
     * one place that says so.
     */
    Q4NL("q4nl", Fidelity.FOUR_BIT, "int4");

    /** How far an encoding's decoded weights may be from the source: it selects the golden-test thresholds. */
    public enum Fidelity {
        /** The source values exactly (f32, bf16 of bf16-exact data, xAI's int8 as is). */
        LOSSLESS,
        /** Re-quantized to 8 bits. */
        EIGHT_BIT,
        /** Re-quantized to 4 bits. */
        FOUR_BIT
    }

    private static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String id;
    private final Fidelity fidelity;
    private final List<String> aliases;

    Encoding(String id, Fidelity fidelity, String... aliases) {
        this.id = id;
        this.fidelity = fidelity;
        this.aliases = List.of(aliases);
    }

    /** The name written in the manifest ({@code int8-rowblock}, {@code q4nl}). */
    public String id() {
        return id;
    }

    /** Other names accepted where a user types an encoding ({@code int4} for q4nl, {@code int8} for int8-rowblock). */
    public List<String> aliases() {
        return aliases;
    }

    public Fidelity fidelity() {
        return fidelity;
    }

    @Override
    public String toString() {
        return id;
    }

    /** The encoding with this manifest name or alias (exact, lower case), or null. */
    public static Encoding lookup(String name) {
        for (Encoding e : values()) if (e.id.equals(name) || e.aliases.contains(name)) return e;
        return null;
    }

    /** The encoding with this manifest name or alias; {@code where} names the file or option for the message. */
    public static Encoding parse(String name, String where) throws BadInputException {
        Encoding e = lookup(name);
        if (e == null) throw new BadInputException(where + ": unknown encoding " + name + " (known: " + known() + ")");
        return e;
    }

    /** As {@link #parse}, for names that were validated already (an unknown one is a bug). */
    public static Encoding of(String name) {
        Encoding e = lookup(name);
        if (e == null) throw new IllegalArgumentException("unknown encoding " + name + " (known: " + known() + ")");
        return e;
    }

    /** Every name and alias, for messages. */
    public static String known() {
        List<String> all = new ArrayList<>();
        for (Encoding e : values()) {
            all.add(e.id);
            all.addAll(e.aliases);
        }
        return String.join(", ", all);
    }

    // ---- size, shape and scale rules ------------------------------------------------------

    /** Whether the encoding has a scales region (everything but the float encodings). */
    public boolean hasScales() {
        return switch (this) {
            case F32, BF16 -> false;
            case INT8_ROWBLOCK, Q8, Q4, Q4_0, Q4NL -> true;
        };
    }

    /** The manifest's {@code scale_layout}: {@code out-major-groups}, or {@code none} without scales. */
    public String scaleLayout() {
        return hasScales() ? "out-major-groups" : "none";
    }

    /** Whether a matrix whose {@code in} is not a multiple of the group size is stored with a ragged (padded) last group. */
    public boolean allowsRaggedGroups() {
        return switch (this) {
            case Q4_0, Q4NL -> true;
            case F32, BF16, INT8_ROWBLOCK, Q8, Q4 -> false;
        };
    }

    /** Whether the encoder weighs its error per input by an importance matrix ({@code --imatrix}). */
    public boolean weighsImportance() {
        return switch (this) {
            case Q4NL -> true;
            case F32, BF16, INT8_ROWBLOCK, Q8, Q4, Q4_0 -> false;
        };
    }

    /** Scales per stored row: {@code ceil(in / groupSize)}; 0 without scales. */
    int groupsPerRow(int groupSize, int in) {
        return groupSize == 0 ? 0 : (in + groupSize - 1) / groupSize;
    }

    /** Bytes of the weights region of an {@code [in, out]} matrix. */
    long weightBytes(int groupSize, int in, int out) {
        long n = (long) in * out;
        return switch (this) {
            case F32 -> 4 * n;
            case BF16 -> 2 * n;
            case INT8_ROWBLOCK, Q8 -> n;
            case Q4 -> n / 2;
            case Q4_0 -> (long) out * groupsPerRow(groupSize, in) * 16; // = n/2 unless a ragged last block is zero-padded
            case Q4NL -> (long) out * groupsPerRow(groupSize, in) * (groupSize / 2);
        };
    }

    /** Bytes of the scales region of an {@code [in, out]} matrix. */
    long scaleBytes(int groupSize, int in, int out) {
        return switch (this) {
            case F32, BF16 -> 0;
            case INT8_ROWBLOCK, Q8, Q4, Q4_0 -> 2L * out * groupsPerRow(groupSize, in);
            case Q4NL -> Q4Nl.scaleBytes(in, out, groupSize);
        };
    }

    /** Throws unless {@code spec} (of this encoding) can encode an {@code [in, out]} matrix. */
    void checkShape(EncodingSpec spec, int in, int out) {
        int g = spec.groupSize();
        String st = spec.scaleType();
        boolean scales16 = "bf16".equals(st) || "f16".equals(st);
        String problem = switch (this) {
            case F32, BF16 -> g != 0 || !"none".equals(st) ? id + ": no groups or scales, got group size " + g + ", scale type " + st : null;
            case INT8_ROWBLOCK, Q8, Q4 -> g <= 0 || in % g != 0
                    ? String.format(Locale.ROOT, "%s: input dimension %d is not a multiple of the group size %d", id, in, g)
                    : this == Q4 && g % 2 != 0 ? id + ": group size must be even"
                    : !scales16 ? id + ": scale type must be bf16 or f16, got " + st : null;
            // a ragged last block is zero-padded (see docs/FORMAT.md)
            case Q4_0 -> g != 32 || !"f16".equals(st) ? id + ": blocks of 32 with f16 scales only, got " + g + "/" + st : null;
            case Q4NL -> g <= 0 || g % 2 != 0 ? id + ": group size must be positive and even, got " + g
                    : !"log8".equals(st) ? id + ": scale type must be log8, got " + st : null;
        };
        if (problem != null) throw new IllegalArgumentException(problem);
    }

    /**
     * The rule a manifest's {@code encoding} object must follow for a matrix with {@code in}
     * inputs (docs/FORMAT.md): null when {@code groupSize} and {@code scaleType} satisfy it,
     * else the rule in words, for the manifest reader's message.
     */
    public String manifestRule(int in, int groupSize, String scaleType) {
        int g = groupSize;
        boolean scales16 = "f16".equals(scaleType) || "bf16".equals(scaleType);
        return switch (this) {
            case F32, BF16 -> g == 0 && "none".equals(scaleType) ? null
                    : "has no scales: group_size 0 and scale_type none";
            case INT8_ROWBLOCK -> "bf16".equals(scaleType) && g > 0 && in % g == 0 && (in / g == 1 || in / g == 8) ? null
                    : "has bf16 scales per column (group_size = in = " + in + ") or per 8 row blocks (group_size = in/8)";
            case Q8 -> scales16 && g > 0 && in % g == 0 ? null
                    : "has f16 or bf16 scales and a group_size dividing in = " + in;
            case Q4 -> scales16 && g > 0 && g % 2 == 0 && in % g == 0 ? null
                    : "has f16 or bf16 scales and an even group_size dividing in = " + in;
            case Q4_0 -> g == 32 && "f16".equals(scaleType) ? null : "has blocks of 32 with f16 scales";
            case Q4NL -> "log8".equals(scaleType) && g > 0 && g % 2 == 0 && g <= 4096 ? null
                    : "has log8 scales and a positive even group_size";
        };
    }

    // ---- scalar dequantizer ---------------------------------------------------------------

    /** Decodes row {@code o} of an {@code [in, ·]} matrix's regions into {@code dst[0, in)}. */
    @FunctionalInterface
    interface RowDecoder {
        void row(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst);
    }

    /**
     * The scalar reference decoder: row {@code o} (the {@code in} weights feeding output o) of
     * the regions into {@code dst[0, in)}. Slow and obviously correct; the kernels, the
     * encoders' {@code decodeRow} and the error statistics must agree with it.
     */
    void dequantizeRow(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        RowDecoder d = switch (this) {
            case F32 -> Encoding::f32Row;
            case BF16 -> Encoding::bf16Row;
            case INT8_ROWBLOCK, Q8 -> Encoding::int8Row;
            case Q4, Q4_0 -> Encoding::nibbleRow;
            case Q4NL -> Q4Nl::dequantizeRow;
        };
        d.row(spec, weights, scales, in, o, dst);
    }

    private static void f32Row(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        long base = 4L * in * o;
        for (int i = 0; i < in; i++) dst[i] = weights.get(LE_F32, base + 4L * i);
    }

    private static void bf16Row(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        long base = 2L * in * o;
        for (int i = 0; i < in; i++) dst[i] = Halfs.bf16ToFloat(weights.get(LE_I16, base + 2L * i));
    }

    /** int8 values times their group's 16-bit scale (int8-rowblock, q8). */
    private static void int8Row(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        int g = spec.groupSize(), groups = in / g;
        long base = (long) in * o;
        for (int k = 0; k < groups; k++) {
            float s = Dequantizer.scale(spec, scales, (long) o * groups + k);
            for (int j = 0; j < g; j++) {
                int i = k * g + j;
                dst[i] = weights.get(ValueLayout.JAVA_BYTE, base + i) * s;
            }
        }
    }

    /** {@code (nibble − 8)} times the group's 16-bit scale (q4, q4_0; a ragged last group's padding is skipped). */
    private static void nibbleRow(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        int g = spec.groupSize(), half = g / 2, groups = spec.groupsPerRow(in);
        long base = (long) groups * half * o;
        for (int k = 0; k < groups; k++) {
            float s = Dequantizer.scale(spec, scales, (long) o * groups + k);
            for (int j = 0; j < half; j++) {
                int b = weights.get(ValueLayout.JAVA_BYTE, base + (long) k * half + j) & 0xff;
                int lo = k * g + j, hi = lo + half;
                if (lo < in) dst[lo] = ((b & 15) - 8) * s;
                if (hi < in) dst[hi] = ((b >>> 4) - 8) * s;
            }
        }
    }

    // ---- encoder --------------------------------------------------------------------------

    /**
     * Statistics of a whole matrix that an encoder's prepare step needs before it encodes any
     * row. Supplied lazily: only encodings that need them ask ({@link #needsChannelStats}).
     */
    @FunctionalInterface
    public interface MatrixStatistics {
        /** Per input channel Σw² and max |w| over every row of the matrix. */
        Q4NlEncoder.ChannelStats channelStats();
    }

    /** Whether {@link #encoder}'s prepare step reads the whole matrix first (q4nl's channel statistics). */
    public boolean needsChannelStats() {
        return switch (this) {
            case Q4NL -> true;
            case F32, BF16, INT8_ROWBLOCK, Q8, Q4, Q4_0 -> false;
        };
    }

    /**
     * The prepare step: an encoder for one {@code [in, ·]} matrix in {@code spec}. Row-local
     * encodings ignore {@code stats} and {@code importance}; q4nl derives its channel scales from
     * {@code stats} and weighs its error by {@code importance} (null: unweighted).
     *
     * @throws IllegalArgumentException for int8-rowblock, which is never re-encoded from floats
     *                                  (it is xAI's int8 data re-ordered, see {@code grokkit.convert})
     */
    public MatrixEncoder encoder(EncodingSpec spec, int in, MatrixStatistics stats, float[] importance) {
        if (spec.encoding() != this) throw new IllegalArgumentException("not a " + id + " spec: " + spec);
        return switch (this) {
            case F32, BF16, Q8, Q4, Q4_0 -> RowEncoder.of(spec).forMatrix(in);
            case INT8_ROWBLOCK -> throw new IllegalArgumentException(id + " has no float encoder (xAI's int8 values are copied)");
            case Q4NL -> Q4NlEncoder.prepare(spec, stats.channelStats(), importance);
        };
    }
}
