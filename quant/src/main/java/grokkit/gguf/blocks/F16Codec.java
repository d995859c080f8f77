package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;
import grokkit.quant.Halfs;

/** ggml F16: each value as IEEE half, rounded to nearest even (as ggml's F16C conversion). */
public final class F16Codec implements BlockCodec {
    public static final F16Codec INSTANCE = new F16Codec();

    private F16Codec() {}

    @Override
    public GgmlType type() { return GgmlType.F16; }

    @Override
    public void quantizeRow(float[] row, int off, int n, float[] importance, byte[] dst, int dstOff) {
        for (int j = 0; j < n; j++) LittleEndianBytes.putShort(dst, dstOff + 2 * j, Halfs.floatToF16(row[off + j]));
    }

    @Override
    public void dequantizeRow(byte[] src, int srcOff, int n, float[] dst, int dstOff) {
        for (int j = 0; j < n; j++) dst[dstOff + j] = Halfs.f16ToFloat(LittleEndianBytes.getShort(src, srcOff + 2 * j));
    }
}
