package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/**
 * The affine K-quants, Q4_K and Q5_K: super-blocks of 256 values in 8 sub-blocks of 32, each
 * sub-block decoded as {@code (d·sc)·q − (dmin·m)} with 6-bit sc and m and the super-block's f16
 * d and dmin. Layout (ggml-common.h): f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins
 * (sub-blocks 0–3 in the low six bits of bytes 0–3 (scales) and 4–7 (mins); sub-blocks 4–7 with
 * their low four bits in the nibbles of bytes 8–11, scale low and min high, and their top two
 * bits in the top two bits of bytes 0–3 and 4–7); for Q5_K 32 bytes of fifth bits; then 128 bytes
 * of nibbles: chunk c of 64 values uses bytes 32c..32c+31, value 64c+l in the low nibble and
 * 64c+32+l in the high one; Q5_K's fifth bit of those is bit 2c resp. 2c+1 of byte l of qh.
 *
 * <p>Quantizer: per sub-block, {@link ScaleSearch#affine} with the offset kept ≤ 0; then for a
 * few super-block scales d (the largest sub-scale mapped to 63, 62 or 61) and dmin (the largest
 * min mapped to 63), every sub-block takes the best of the (floor, ceil) × (floor, ceil) integer
 * scale and min, judged by its weighted error with its codes re-assigned for exactly the values
 * the decoder will compute; the d with the least total error wins.
 */
abstract class AffineKCodec extends AbstractBlockCodec {
    private final int nmax;
    private final boolean fiveBit;

    /** The largest sub-block scale maps to each of these 6-bit values in turn. */
    private static final float[] TOP_SCALE = {63f, 62f, 61f};

    AffineKCodec(GgmlType type, boolean fiveBit) {
        super(type);
        this.fiveBit = fiveBit;
        this.nmax = fiveBit ? 31 : 15;
    }

    @Override
    final void quantizeBlock(float[] x, int xo, float[] imp, int io, byte[] dst, int d0, Scratch s) {
        ScaleSearch.errorWeights(x, xo, 256, imp, io, s.w);
        float maxD = 0, maxM = 0;
        for (int b = 0; b < 8; b++) {
            ScaleSearch.affine(x, xo + 32 * b, 32, s.w, 32 * b, nmax, true, s.fit);
            s.subScale[b] = Math.max(0f, s.fit[0]);
            s.subMin[b] = Math.max(0f, -s.fit[1]);
            maxD = Math.max(maxD, s.subScale[b]);
            maxM = Math.max(maxM, s.subMin[b]);
        }
        short dminH = maxM > 0 ? ScaleSearch.f16Finite(maxM / 63f) : 0;
        float dmin = Float.float16ToFloat(dminH);
        double bestTotal = Double.POSITIVE_INFINITY;
        short bestD = 0;
        for (float top : TOP_SCALE) {
            short dh = maxD > 0 ? ScaleSearch.f16Finite(maxD / top) : 0;
            float d = Float.float16ToFloat(dh);
            double total = 0;
            for (int b = 0; b < 8 && total < bestTotal; b++) total += bestSubBlock(x, xo, b, d, dmin, s);
            if (total < bestTotal) {
                bestTotal = total;
                bestD = dh;
                System.arraycopy(s.sc, 0, s.bestSc, 0, 8);
                System.arraycopy(s.mq, 0, s.bestMq, 0, 8);
                System.arraycopy(s.codes, 0, s.best, 0, 256);
            }
            if (maxD == 0) break;
        }
        write(dst, d0, bestD, dminH, s.bestSc, s.bestMq, s.best);
    }

    /** The best integer (scale, min) of sub-block b for super-scales (d, dmin): into s.sc[b], s.mq[b], codes into s.codes; returns its error. */
    private double bestSubBlock(float[] x, int xo, int b, float d, float dmin, Scratch s) {
        int sc0 = d > 0 ? clamp6((int) Math.floor(s.subScale[b] / d)) : 0;
        int m0 = dmin > 0 ? clamp6((int) Math.floor(s.subMin[b] / dmin)) : 0;
        double best = Double.POSITIVE_INFINITY;
        for (int sc = sc0; sc <= Math.min(63, sc0 + 1) && (sc == sc0 || d > 0); sc++) {
            for (int m = m0; m <= Math.min(63, m0 + 1) && (m == m0 || dmin > 0); m++) {
                float d1 = d * sc, m1 = dmin * m;
                double e = ScaleSearch.assignAffine(x, xo + 32 * b, 32, s.w, 32 * b, nmax, d1, -m1, s.trial, 0);
                if (e < best) {
                    best = e;
                    s.sc[b] = sc;
                    s.mq[b] = m;
                    System.arraycopy(s.trial, 0, s.codes, 32 * b, 32);
                }
            }
        }
        return best;
    }

    private static int clamp6(int v) {
        return Math.min(63, Math.max(0, v));
    }

    private void write(byte[] dst, int d0, short dh, short dminH, int[] sc, int[] mq, int[] codes) {
        putF16(dst, d0, dh);
        putF16(dst, d0 + 2, dminH);
        int p = d0 + 4;
        for (int j = 0; j < 4; j++) {
            dst[p + j] = (byte) (sc[j] | ((sc[j + 4] >>> 4) << 6));
            dst[p + j + 4] = (byte) (mq[j] | ((mq[j + 4] >>> 4) << 6));
            dst[p + j + 8] = (byte) ((sc[j + 4] & 15) | ((mq[j + 4] & 15) << 4));
        }
        int qs = d0 + 16;
        if (fiveBit) {
            for (int l = 0; l < 32; l++) {
                int h = 0;
                for (int c = 0; c < 4; c++) h |= ((codes[64 * c + l] >>> 4) << (2 * c)) | ((codes[64 * c + 32 + l] >>> 4) << (2 * c + 1));
                dst[qs + l] = (byte) h;
            }
            qs += 32;
        }
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) dst[qs + 32 * c + l] = (byte) ((codes[64 * c + l] & 15) | ((codes[64 * c + 32 + l] & 15) << 4));
    }

    /** The 6-bit scale (mins: {@code min} true) of sub-block j from the 12 packed bytes at p. */
    static int scaleMin(byte[] b, int p, int j, boolean min) {
        int o = min ? 4 : 0;
        if (j < 4) return b[p + j + o] & 63;
        int low = min ? (b[p + j + 4] & 0xff) >>> 4 : b[p + j + 4] & 15;
        return low | (((b[p + j - 4 + o] & 0xff) >>> 6) << 4);
    }

    @Override
    final void dequantizeBlock(byte[] src, int s0, float[] dst, int y0) {
        float d = f16(src, s0), dmin = f16(src, s0 + 2);
        int qs = s0 + 16, qh = s0 + 16;
        if (fiveBit) qs += 32;
        for (int c = 0; c < 4; c++) {
            float d1 = d * scaleMin(src, s0 + 4, 2 * c, false), m1 = dmin * scaleMin(src, s0 + 4, 2 * c, true);
            float d2 = d * scaleMin(src, s0 + 4, 2 * c + 1, false), m2 = dmin * scaleMin(src, s0 + 4, 2 * c + 1, true);
            for (int l = 0; l < 32; l++) {
                int b = src[qs + 32 * c + l] & 0xff;
                int lo = b & 15, hi = b >>> 4;
                if (fiveBit) {
                    int h = src[qh + l] & 0xff;
                    lo += ((h >>> (2 * c)) & 1) << 4;
                    hi += ((h >>> (2 * c + 1)) & 1) << 4;
                }
                dst[y0 + 64 * c + l] = d1 * lo - m1;
                dst[y0 + 64 * c + 32 + l] = d2 * hi - m2;
            }
        }
    }
}
