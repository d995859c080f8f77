package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/**
 * The 32-value blocks with an f16 scale and an f16 offset, {@code x̂ = code · d + m}: Q4_1
 * (codes 0..15, 20 bytes) and Q5_1 (codes 0..31, 24 bytes). Layout (ggml-common.h): f16 d, f16
 * m, for Q5_1 a little-endian 32-bit word of fifth bits (bit j for value j), then 16 bytes, byte j
 * holding value j's low four code bits in its low nibble and value j+16's in its high nibble.
 *
 * <p>Quantizer: {@link ScaleSearch#affine} (candidate clipped ranges, joint weighted LS of scale
 * and offset), d rounded to f16, the offset refitted for the rounded d and rounded, codes
 * re-assigned for the stored pair.
 */
abstract class Affine32Codec extends AbstractBlockCodec {
    private final int nmax;
    private final boolean fiveBit;

    Affine32Codec(GgmlType type, boolean fiveBit) {
        super(type);
        this.fiveBit = fiveBit;
        this.nmax = fiveBit ? 31 : 15;
    }

    @Override
    final void quantizeBlock(float[] x, int xo, float[] imp, int io, byte[] dst, int d0, Scratch s) {
        ScaleSearch.errorWeights(x, xo, 32, imp, io, s.w);
        ScaleSearch.affine(x, xo, 32, s.w, 0, nmax, false, s.fit);
        short dh = ScaleSearch.f16Finite(s.fit[0]);
        float d = Float.float16ToFloat(dh);
        ScaleSearch.assignAffine(x, xo, 32, s.w, 0, nmax, d, s.fit[1], s.codes, 0);
        // the offset that is best for the rounded scale and these codes
        double sw = 0, sr = 0;
        for (int j = 0; j < 32; j++) {
            sw += s.w[j];
            sr += s.w[j] * (x[xo + j] - (double) s.codes[j] * d);
        }
        short mh = ScaleSearch.f16Finite(sw > 0 ? (float) (sr / sw) : s.fit[1]);
        ScaleSearch.assignAffine(x, xo, 32, s.w, 0, nmax, d, Float.float16ToFloat(mh), s.codes, 0);
        putF16(dst, d0, dh);
        putF16(dst, d0 + 2, mh);
        int q0 = d0 + 4;
        if (fiveBit) {
            int qh = 0;
            for (int j = 0; j < 32; j++) qh |= (s.codes[j] >>> 4) << j;
            for (int k = 0; k < 4; k++) dst[d0 + 4 + k] = (byte) (qh >>> (8 * k));
            q0 += 4;
        }
        for (int j = 0; j < 16; j++) dst[q0 + j] = (byte) ((s.codes[j] & 15) | ((s.codes[j + 16] & 15) << 4));
    }

    @Override
    final void dequantizeBlock(byte[] src, int s0, float[] dst, int y0) {
        float d = f16(src, s0), m = f16(src, s0 + 2);
        int q0 = s0 + 4, qh = 0;
        if (fiveBit) {
            for (int k = 0; k < 4; k++) qh |= (src[s0 + 4 + k] & 0xff) << (8 * k);
            q0 += 4;
        }
        for (int j = 0; j < 16; j++) {
            int b = src[q0 + j] & 0xff;
            int lo = b & 15, hi = b >>> 4;
            if (fiveBit) {
                lo |= ((qh >>> j) & 1) << 4;
                hi |= ((qh >>> (j + 16)) & 1) << 4;
            }
            dst[y0 + j] = lo * d + m;
            dst[y0 + j + 16] = hi * d + m;
        }
    }
}
