package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml F32: each value as a little-endian IEEE float32 (lossless). */
public final class F32Codec implements BlockCodec {
    public static final F32Codec INSTANCE = new F32Codec();

    private F32Codec() {}

    @Override
    public GgmlType type() { return GgmlType.F32; }

    @Override
    public void quantizeRow(float[] row, int off, int n, float[] importance, byte[] dst, int dstOff) {
        for (int j = 0; j < n; j++) LittleEndianBytes.putInt(dst, dstOff + 4 * j, Float.floatToRawIntBits(row[off + j]));
    }

    @Override
    public void dequantizeRow(byte[] src, int srcOff, int n, float[] dst, int dstOff) {
        for (int j = 0; j < n; j++) dst[dstOff + j] = Float.intBitsToFloat(LittleEndianBytes.getInt(src, srcOff + 4 * j));
    }
}
