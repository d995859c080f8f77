package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/**
 * ggml Q6_K: 256-value super-blocks in 16 sub-blocks of 16, each decoded as
 * {@code (d·sc)·(code − 32)} with a signed 8-bit sc and the super-block's f16 d (6.5625 bits per
 * weight). Layout (ggml-common.h): 128 bytes ql (low four code bits), 64 bytes qh (top two),
 * 16 int8 scales, f16 d. Value e = 128n + 32k + l (n half, k quarter, l < 32) keeps its low bits
 * in byte {@code 64n + l + 32·(k & 1)} of ql (low nibble for k < 2, high nibble else), its top bits
 * at bit 2k of byte {@code 32n + l} of qh; its sub-block is e / 16.
 *
 * <p>Quantizer: per sub-block {@link ScaleSearch#symmetric} on the grid −32..31; for d mapping
 * the largest |sub-scale| to 127, 126 or 125 (or −128), each sub-block takes the better of the
 * floor and ceil integer scale, judged with codes re-assigned for the decoder's values.
 */
public final class Q6_KCodec extends AbstractBlockCodec {
    public static final Q6_KCodec INSTANCE = new Q6_KCodec();

    private static final ScaleSearch.Grid GRID = ScaleSearch.uniform(-32, 31);
    private static final float[] TOP_SCALE = {127f, 126f, 125f, -128f};

    private Q6_KCodec() {
        super(GgmlType.Q6_K);
    }

    @Override
    void quantizeBlock(float[] x, int xo, float[] imp, int io, byte[] dst, int d0, Scratch s) {
        ScaleSearch.errorWeights(x, xo, 256, imp, io, s.w);
        float dmax = 0;
        for (int b = 0; b < 16; b++) {
            s.subScale[b] = ScaleSearch.symmetric(x, xo + 16 * b, 16, s.w, 16 * b, GRID);
            if (Math.abs(s.subScale[b]) > Math.abs(dmax)) dmax = s.subScale[b];
        }
        double bestTotal = Double.POSITIVE_INFINITY;
        short bestD = 0;
        for (float top : TOP_SCALE) {
            if (top < 0 && dmax >= 0) continue; // −128 only helps a negative extreme
            short dh = dmax != 0 ? ScaleSearch.f16Finite(dmax / top) : 0;
            float d = Float.float16ToFloat(dh);
            double total = 0;
            for (int b = 0; b < 16 && total < bestTotal; b++) total += bestSubBlock(x, xo, b, d, s);
            if (total < bestTotal) {
                bestTotal = total;
                bestD = dh;
                System.arraycopy(s.sc, 0, s.bestSc, 0, 16);
                System.arraycopy(s.codes, 0, s.best, 0, 256);
            }
            if (dmax == 0) break;
        }
        write(dst, d0, bestD, s.bestSc, s.best);
    }

    private static double bestSubBlock(float[] x, int xo, int b, float d, Scratch s) {
        int sc0 = d != 0 ? clamp8((int) Math.floor(s.subScale[b] / d)) : 0;
        double best = Double.POSITIVE_INFINITY;
        for (int sc = sc0; sc <= Math.min(127, sc0 + 1) && (sc == sc0 || d != 0); sc++) {
            float d1 = d * sc;
            double e = ScaleSearch.assignSymmetric(x, xo + 16 * b, 16, s.w, 16 * b, GRID, d1, s.trial, 0);
            if (e < best) {
                best = e;
                s.sc[b] = sc;
                System.arraycopy(s.trial, 0, s.codes, 16 * b, 16);
            }
        }
        return best;
    }

    private static int clamp8(int v) {
        return Math.min(127, Math.max(-128, v));
    }

    private static void write(byte[] dst, int d0, short dh, int[] sc, int[] codes) {
        int ql = d0, qh = d0 + 128;
        java.util.Arrays.fill(dst, d0, d0 + 192, (byte) 0);
        for (int e = 0; e < 256; e++) {
            int n = e >>> 7, k = (e >>> 5) & 3, l = e & 31, c = codes[e];
            int qi = ql + 64 * n + l + 32 * (k & 1);
            dst[qi] |= (byte) (k < 2 ? (c & 15) : (c & 15) << 4);
            dst[qh + 32 * n + l] |= (byte) ((c >>> 4) << (2 * k));
        }
        for (int b = 0; b < 16; b++) dst[d0 + 192 + b] = (byte) sc[b];
        putF16(dst, d0 + 208, dh);
    }

    @Override
    void dequantizeBlock(byte[] src, int s0, float[] dst, int y0) {
        float d = f16(src, s0 + 208);
        for (int e = 0; e < 256; e++) {
            int n = e >>> 7, k = (e >>> 5) & 3, l = e & 31;
            int lowByte = src[s0 + 64 * n + l + 32 * (k & 1)] & 0xff;
            int low = k < 2 ? lowByte & 15 : lowByte >>> 4;
            int high = ((src[s0 + 128 + 32 * n + l] & 0xff) >>> (2 * k)) & 3;
            int q = (low | (high << 4)) - 32;
            dst[y0 + e] = d * src[s0 + 192 + (e >>> 4)] * q;
        }
    }
}
