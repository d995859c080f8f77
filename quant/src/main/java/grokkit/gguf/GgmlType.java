package grokkit.gguf;

import grokkit.gguf.blocks.BlockCodec;

import java.util.Locale;

/**
 * The ggml tensor types a GGUF export can write, one constant per type: its ggml type id (the
 * number stored in a GGUF tensor-info record), its block geometry, and its {@link BlockCodec}
 * (quantize and dequantize one row). This is the home of everything type-specific about a GGUF
 * block; a {@code switch} over this enum is exhaustive, so adding a type makes the compiler
 * point at every place that must handle it.
 *
 * <p>A ggml row is {@code ne0} consecutive values (for a weight matrix: the inputs that feed one
 * output), stored as {@code ne0 / blockSize} blocks of {@code bytesPerBlock} bytes. A row length
 * that is not a multiple of {@link #blockSize()} cannot be stored in this type.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    IQ4_NL(20, 32, 18),
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** The ggml type id, as stored in a GGUF tensor-info record. */
    public int id() { return id; }

    /** Values per block (1 for the float types). */
    public int blockSize() { return blockSize; }

    /** Bytes per block. */
    public int bytesPerBlock() { return bytesPerBlock; }

    /** Whether a row of {@code n} values can be stored in this type. */
    public boolean fitsRow(long n) { return n > 0 && n % blockSize == 0; }

    /** Bytes of one row of {@code n} values; {@code n} must fit ({@link #fitsRow}). */
    public long rowBytes(long n) {
        if (!fitsRow(n))
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s: a row of %d values is not a multiple of the block size %d", name(), n, blockSize));
        return n / blockSize * bytesPerBlock;
    }

    /** Bits per weight, scales included. */
    public double bitsPerWeight() { return 8.0 * bytesPerBlock / blockSize; }

    /** The lower-case name llama.cpp's tools use ({@code q4_k}, {@code iq4_nl}, {@code bf16}). */
    public String cliName() { return name().toLowerCase(Locale.ROOT); }

    /** The type with this ggml id, or {@code null} when this toolkit does not know it. */
    public static GgmlType byId(int id) {
        for (GgmlType t : values()) if (t.id == id) return t;
        return null;
    }

    /** Whether this build can write the type ({@link #codec()} does not throw). */
    public boolean hasCodec() {
        try {
            codec();
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    /** The codec that quantizes and dequantizes rows of this type. */
    public BlockCodec codec() {
        BlockCodec codec = switch (this) {
            // Each case names its codec class in grokkit.gguf.blocks; null until that class is written.
            case F32 -> grokkit.gguf.blocks.F32Codec.INSTANCE;
            case F16 -> grokkit.gguf.blocks.F16Codec.INSTANCE;
            case BF16 -> grokkit.gguf.blocks.BF16Codec.INSTANCE;
            case Q8_0 -> grokkit.gguf.blocks.Q8_0Codec.INSTANCE;
            case Q4_0 -> grokkit.gguf.blocks.Q4_0Codec.INSTANCE;
            case Q4_1 -> grokkit.gguf.blocks.Q4_1Codec.INSTANCE;
            case Q5_0 -> grokkit.gguf.blocks.Q5_0Codec.INSTANCE;
            case Q5_1 -> grokkit.gguf.blocks.Q5_1Codec.INSTANCE;
            case Q4_K -> grokkit.gguf.blocks.Q4_KCodec.INSTANCE;
            case Q5_K -> grokkit.gguf.blocks.Q5_KCodec.INSTANCE;
            case Q6_K -> grokkit.gguf.blocks.Q6_KCodec.INSTANCE;
            case IQ4_NL -> grokkit.gguf.blocks.IQ4_NLCodec.INSTANCE;
        };
        if (codec == null) throw new UnsupportedOperationException(cliName() + ": this build has no quantizer for this type yet");
        return codec;
    }
}
