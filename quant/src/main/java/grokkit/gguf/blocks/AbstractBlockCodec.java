package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

import java.util.Locale;

/**
 * The row loop shared by the block codecs: argument checks, then one {@link #quantizeBlock} /
 * {@link #dequantizeBlock} per block of {@code type().blockSize()} values. Subclasses hold no
 * state, so every codec is thread-safe; scratch arrays are allocated per row call.
 */
abstract class AbstractBlockCodec implements BlockCodec {
    private final GgmlType type;

    AbstractBlockCodec(GgmlType type) {
        this.type = type;
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    @Override
    public final void quantizeRow(float[] row, int off, int n, float[] importance, byte[] dst, int dstOff) {
        checkRow(n);
        if (importance != null && importance.length < n)
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: importance has %d entries for a row of %d", type, importance.length, n));
        int bs = type.blockSize();
        Scratch s = new Scratch(bs);
        for (int b = 0; b < n / bs; b++) {
            int x0 = off + b * bs;
            for (int j = 0; j < bs; j++) {
                float v = row[x0 + j];
                if (!Float.isFinite(v)) throw new IllegalArgumentException(type + ": non-finite value " + v + " at index " + (b * bs + j) + " of the row");
            }
            quantizeBlock(row, x0, importance, b * bs, dst, dstOff + b * type.bytesPerBlock(), s);
        }
    }

    @Override
    public final void dequantizeRow(byte[] src, int srcOff, int n, float[] dst, int dstOff) {
        checkRow(n);
        int bs = type.blockSize();
        for (int b = 0; b < n / bs; b++) dequantizeBlock(src, srcOff + b * type.bytesPerBlock(), dst, dstOff + b * bs);
    }

    private void checkRow(int n) {
        if (!type.fitsRow(n))
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: a row of %d values is not a multiple of the block size %d", type, n, type.blockSize()));
    }

    /** Per-row scratch space: a block's error weights, code buffers, the K-quants' sub-block figures. */
    static final class Scratch {
        final float[] w;
        final int[] codes, alt, best;
        final int[] trial = new int[32];
        final float[] fit = new float[2];
        final float[] subScale = new float[16], subMin = new float[16];
        final int[] sc = new int[16], mq = new int[16], bestSc = new int[16], bestMq = new int[16];

        Scratch(int bs) {
            w = new float[bs];
            codes = new int[bs];
            alt = new int[bs];
            best = new int[bs];
        }
    }

    /**
     * Quantizes the block {@code x[xo, xo + blockSize)} (all finite) whose importance, if
     * {@code imp} is not null, is {@code imp[io, io + blockSize)}, into {@code dst[d0..]}.
     */
    abstract void quantizeBlock(float[] x, int xo, float[] imp, int io, byte[] dst, int d0, Scratch s);

    /** Decodes one block at {@code src[s0..]} into {@code dst[y0, y0 + blockSize)} with ggml's float operations. */
    abstract void dequantizeBlock(byte[] src, int s0, float[] dst, int y0);

    static float f16(byte[] b, int at) {
        return Float.float16ToFloat((short) ((b[at] & 0xff) | (b[at + 1] << 8)));
    }

    static void putF16(byte[] b, int at, short h) {
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >>> 8);
    }
}
