package grokkit.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The {@code q4nl} encoding: 4-bit codes on a <em>non-uniform</em> 16-level grid, one 16-bit
 * scale per group of G inputs: {@code w = scale · LEVELS[code]}.
 *
 * <p>Why non-uniform: expert weights have a bell-shaped bulk with heavy tails. A uniform grid
 * (q4, Q4_0) spends most of its 16 levels on the sparse tails; a grid that is dense near zero
 * and sparse at the edges (the idea of llama.cpp's IQ4_NL) gives ~20% lower RMS error at the
 * same 4.5 bits per weight (G = 32, f16 scale), and measurably lower KL divergence of the
 * model output. The grid is fixed (part of the encoding, not stored per tensor), so the kernel
 * maps a nibble to its level with one byte shuffle.
 *
 * <p>Byte layout (see {@link EncodingSpec}): as {@code q4} — out-major rows, each row
 * {@code ceil(in/G)} groups of G/2 bytes; in a group, byte j holds input j in its low nibble
 * and input j+G/2 in its high nibble. Unlike q4, {@code in} need not be a multiple of G: the
 * last group of a row may be ragged (e.g. ffn 344 with G 32: 10 groups of 32 and one of 24);
 * its missing inputs hold {@link #ZERO_CODE} and are never read. Scales: {@code ceil(in/G)}
 * per row, f16 (default) or bf16, row-major.
 */
public final class Q4Nl {
    private Q4Nl() {}

    /**
     * The grid, as int8 levels (a scale maps them to weights). Fitted by weighted Lloyd
     * iterations with per-group scale search on heavy-tailed expert weights (see
     * {@code tools/python/int4_research.py}); denser near zero, asymmetric because 16 levels
     * cannot be symmetric and also contain a level near zero.
     */
    static final byte[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** The code whose level is nearest zero (used for the padding of a ragged last group). */
    public static final int ZERO_CODE = 8;

    /** LEVELS as floats. */
    static final float[] LEVEL_F = new float[16];

    /**
     * Nearest-level table: for v in level units, {@code NEAREST[floor(2v) + 256]} (clamped to
     * [0, 511]) is the code of the nearest level. All levels are integers, so every decision
     * boundary (a midpoint of two levels) is a multiple of 1/2 and the table is exact.
     */
    static final byte[] NEAREST = new byte[512];

    static {
        for (int i = 0; i < 16; i++) LEVEL_F[i] = LEVELS[i];
        for (int k = 0; k < 512; k++) {
            // The half-unit cell [k/2 - 128, k/2 - 128 + 1/2): its midpoint decides (no boundary lies inside).
            double v = (k - 256) / 2.0 + 0.25;
            int best = 0;
            for (int c = 1; c < 16; c++) if (Math.abs(v - LEVELS[c]) < Math.abs(v - LEVELS[best])) best = c;
            NEAREST[k] = (byte) best;
        }
    }

    /** A copy of the grid's levels (int8, ascending). */
    public static byte[] levels() {
        return LEVELS.clone();
    }

    /** The level (as float) of a code 0..15. */
    public static float level(int code) {
        return LEVEL_F[code];
    }

    /** The code of the level nearest to {@code v} (in level units; anything beyond ±128 clamps). */
    public static int nearest(float v) {
        float t = 2f * v + 256f;
        int k = t <= 0f ? 0 : (t >= 511f ? 511 : (int) t);
        return NEAREST[k];
    }

    /** Groups per row: {@code ceil(in / G)}. */
    public static int groups(int in, int groupSize) {
        return (in + groupSize - 1) / groupSize;
    }

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Decodes a 16-bit scale of {@code scaleType} ("f16" or "bf16"). */
    static float decodeScale(short bits, String scaleType) {
        return "bf16".equals(scaleType) ? Float.intBitsToFloat((bits & 0xffff) << 16) : Float.float16ToFloat(bits);
    }

    /**
     * Scalar reference dequantization of row {@code o} (the {@code in} weights feeding output o)
     * into {@code dst[0..in)}. Slow and obviously correct: tests and the kernel's checks use it.
     */
    public static void dequantizeRow(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        int g = spec.groupSize(), half = g / 2, groups = groups(in, g);
        long rowBytes = (long) groups * half;
        for (int k = 0; k < groups; k++) {
            float s = decodeScale(scales.get(I16, 2L * ((long) o * groups + k)), spec.scaleType());
            long b0 = o * rowBytes + (long) k * half;
            for (int j = 0; j < half; j++) {
                int b = weights.get(ValueLayout.JAVA_BYTE, b0 + j) & 0xff;
                int lo = k * g + j, hi = lo + half;
                if (lo < in) dst[lo] = LEVEL_F[b & 15] * s;
                if (hi < in) dst[hi] = LEVEL_F[b >>> 4] * s;
            }
        }
    }
}
