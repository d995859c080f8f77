package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;
import grokkit.quant.Halfs;

/**
 * ggml Q8_0: blocks of 32 values, each an f16 scale {@code d} then 32 signed bytes {@code q};
 * the value is {@code d·q}.
 *
 * <p>The scale search: llama.cpp's reference ({@code d = amax/127}, codes {@code roundf(x/d)}
 * from the unrounded scale) is one candidate; the others quantize with the stored (f16-rounded)
 * scale for {@code amax/L}, L in {125, 126, 127}, and the least-squares refit of the best of
 * them. The candidate with the least squared error (weighted by the importance when given)
 * wins, so no block is worse than the reference's by that measure. No candidate clips the
 * block's largest value: on heavy-tailed weights the outlier matters more than its share of
 * the squared error (scales that clip it measured a worse KL, docs/EXPORT.md). Everything is
 * in a fixed order: the bytes are a function of the row alone.
 */
public final class Q8_0Codec implements BlockCodec {
    public static final Q8_0Codec INSTANCE = new Q8_0Codec();
    private static final int QK = 32;
    private static final float[] LEVELS = {125f, 126f, 127f};

    private Q8_0Codec() {}

    @Override
    public GgmlType type() { return GgmlType.Q8_0; }

    @Override
    public void quantizeRow(float[] row, int off, int n, float[] importance, byte[] dst, int dstOff) {
        if (n % QK != 0) throw new IllegalArgumentException("Q8_0: a row of " + n + " values is not a multiple of 32");
        byte[] best = new byte[QK], cand = new byte[QK];
        for (int b = 0; b < n / QK; b++) {
            int x0 = off + b * QK, w0 = b * QK, out = dstOff + b * (QK + 2);
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(row[x0 + j]));
            if (amax == 0 || !Float.isFinite(amax)) {
                // All zero (or non-finite input, which no scale represents): llama.cpp's reference codes.
                reference(row, x0, amax, dst, out);
                continue;
            }
            // Candidate 0: llama.cpp's quantize_row_q8_0_ref exactly.
            float dRef = amax / 127f, id = 1f / dRef;
            for (int j = 0; j < QK; j++) best[j] = (byte) roundAway(row[x0 + j] * id);
            short bestD = Halfs.floatToF16(dRef);
            double bestErr = error(row, x0, importance, w0, best, Halfs.f16ToFloat(bestD));
            for (float level : LEVELS) {
                short d16 = Halfs.floatToF16(amax / level);
                double e = codes(row, x0, importance, w0, Halfs.f16ToFloat(d16), cand);
                if (e < bestErr) {
                    bestErr = e;
                    bestD = d16;
                    System.arraycopy(cand, 0, best, 0, QK);
                }
            }
            // Least-squares refit of the best codes' scale, then requantized with it.
            double sxq = 0, sqq = 0;
            for (int j = 0; j < QK; j++) {
                double w = importance == null ? 1 : importance[w0 + j];
                sxq += w * row[x0 + j] * best[j];
                sqq += w * best[j] * best[j];
            }
            if (sqq > 0 && sxq > 0) {
                short d16 = Halfs.floatToF16((float) (sxq / sqq));
                float d = Halfs.f16ToFloat(d16);
                if (d > 0 && Float.isFinite(d) && 127 * d >= amax) {
                    double e = codes(row, x0, importance, w0, d, cand);
                    if (e < bestErr) {
                        bestD = d16;
                        System.arraycopy(cand, 0, best, 0, QK);
                    }
                }
            }
            LittleEndianBytes.putShort(dst, out, bestD);
            System.arraycopy(best, 0, dst, out + 2, QK);
        }
    }

    private static void reference(float[] row, int x0, float amax, byte[] dst, int out) {
        float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
        LittleEndianBytes.putShort(dst, out, Halfs.floatToF16(d));
        for (int j = 0; j < QK; j++) dst[out + 2 + j] = (byte) roundAway(row[x0 + j] * id);
    }

    /** Codes for scale d (nearest, clamped to int8) into {@code q}; returns their weighted squared error. */
    private static double codes(float[] row, int x0, float[] imp, int w0, float d, byte[] q) {
        float id = 1f / d;
        for (int j = 0; j < QK; j++) q[j] = (byte) Math.max(-128, Math.min(127, roundAway(row[x0 + j] * id)));
        return error(row, x0, imp, w0, q, d);
    }

    private static double error(float[] row, int x0, float[] imp, int w0, byte[] q, float d) {
        double e = 0;
        for (int j = 0; j < QK; j++) {
            double r = row[x0 + j] - (double) (d * q[j]);
            e += (imp == null ? 1 : imp[w0 + j]) * r * r;
        }
        return e;
    }

    /** C's {@code roundf}: to nearest, halves away from zero (exact for every float). */
    static int roundAway(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) Math.copySign(a, v);
    }

    @Override
    public void dequantizeRow(byte[] src, int srcOff, int n, float[] dst, int dstOff) {
        for (int b = 0; b < n / QK; b++) {
            int at = srcOff + b * (QK + 2);
            float d = Halfs.f16ToFloat(LittleEndianBytes.getShort(src, at));
            for (int j = 0; j < QK; j++) dst[dstOff + b * QK + j] = d * src[at + 2 + j];
        }
    }
}
