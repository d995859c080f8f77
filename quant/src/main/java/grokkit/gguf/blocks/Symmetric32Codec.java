package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/**
 * The 32-value blocks with one f16 scale and no offset, {@code x̂ = d · level(code)}: Q4_0,
 * IQ4_NL (4-bit codes, 18 bytes) and Q5_0 (5-bit codes, 22 bytes). Layout (ggml-common.h): the
 * f16 d, for Q5_0 a little-endian 32-bit word whose bit j is the fifth bit of value j's code, then
 * 16 bytes whose byte j holds value j's (low four bits of the) code in its low nibble and value
 * j+16's in its high nibble.
 *
 * <p>Quantizer: {@link ScaleSearch#symmetric} on q4nl's error weights (times the importance when
 * given), then the better of the two f16 values around the searched scale, with the nearest codes
 * for the stored scale.
 */
abstract class Symmetric32Codec extends AbstractBlockCodec {
    private final ScaleSearch.Grid grid;
    private final boolean fiveBit;

    Symmetric32Codec(GgmlType type, ScaleSearch.Grid grid, boolean fiveBit) {
        super(type);
        this.grid = grid;
        this.fiveBit = fiveBit;
    }

    /** The decoded value of {@code code} for scale d, as ggml computes it. */
    abstract float decode(float d, int code);

    @Override
    final void quantizeBlock(float[] x, int xo, float[] imp, int io, byte[] dst, int d0, Scratch s) {
        ScaleSearch.errorWeights(x, xo, 32, imp, io, s.w);
        float d = ScaleSearch.symmetric(x, xo, 32, s.w, 0, grid);
        short h = ScaleSearch.roundedSymmetric(x, xo, 32, s.w, 0, grid, d, s.codes, 0, s.alt);
        putF16(dst, d0, h);
        int q0 = d0 + 2;
        if (fiveBit) {
            int qh = 0;
            for (int j = 0; j < 32; j++) qh |= (s.codes[j] >>> 4) << j;
            for (int k = 0; k < 4; k++) dst[d0 + 2 + k] = (byte) (qh >>> (8 * k));
            q0 += 4;
        }
        for (int j = 0; j < 16; j++) dst[q0 + j] = (byte) ((s.codes[j] & 15) | ((s.codes[j + 16] & 15) << 4));
    }

    @Override
    final void dequantizeBlock(byte[] src, int s0, float[] dst, int y0) {
        float d = f16(src, s0);
        int q0 = s0 + 2, qh = 0;
        if (fiveBit) {
            for (int k = 0; k < 4; k++) qh |= (src[s0 + 2 + k] & 0xff) << (8 * k);
            q0 += 4;
        }
        for (int j = 0; j < 16; j++) {
            int b = src[q0 + j] & 0xff;
            int lo = b & 15, hi = b >>> 4;
            if (fiveBit) {
                lo |= ((qh >>> j) & 1) << 4;
                hi |= ((qh >>> (j + 16)) & 1) << 4;
            }
            dst[y0 + j] = decode(d, lo);
            dst[y0 + j + 16] = decode(d, hi);
        }
    }
}
