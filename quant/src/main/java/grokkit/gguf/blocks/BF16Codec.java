package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;
import grokkit.quant.Halfs;

/**
 * ggml BF16: the upper 16 bits of each float32, rounded to nearest even (NaN stays NaN), as
 * ggml's {@code ggml_compute_fp32_to_bf16}. xAI's int8 × bf16 products need up to 16
 * significant bits, so BF16 is lossy for them; F16 keeps more (11 bits) where the range allows.
 */
public final class BF16Codec implements BlockCodec {
    public static final BF16Codec INSTANCE = new BF16Codec();

    private BF16Codec() {}

    @Override
    public GgmlType type() { return GgmlType.BF16; }

    @Override
    public void quantizeRow(float[] row, int off, int n, float[] importance, byte[] dst, int dstOff) {
        for (int j = 0; j < n; j++) LittleEndianBytes.putShort(dst, dstOff + 2 * j, Halfs.floatToBf16(row[off + j]));
    }

    @Override
    public void dequantizeRow(byte[] src, int srcOff, int n, float[] dst, int dstOff) {
        for (int j = 0; j < n; j++) dst[dstOff + j] = Halfs.bf16ToFloat(LittleEndianBytes.getShort(src, srcOff + 2 * j));
    }
}
