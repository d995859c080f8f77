package grokkit.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The {@code q4nl} encoding: 4-bit codes on a fixed <em>non-uniform</em> 16-level grid, an 8-bit
 * log-coded scale per group of G inputs, and one 16-bit <em>channel scale</em> per input:
 * <pre>  W[i, o] = c[i] · groupScale[o, i / G] · LEVELS[code[o, i]]</pre>
 * so the kernel computes {@code y = (x ∘ c) · W'} with the channel scales applied to x once.
 *
 * <p>Why (the measurements, from {@code tools/python/int4_research.py}: docs/benchmarks/int4.md and
 * docs/benchmarks/encoders.md):
 * <ul>
 * <li><b>Non-uniform grid.</b> Expert weights have a bell-shaped bulk and heavy tails; a uniform
 *     grid (q4, Q4_0) spends its levels on the sparse tails. A grid dense near zero (the idea of
 *     llama.cpp's IQ4_NL) cuts the RMS error at the same size.</li>
 * <li><b>Channel scales.</b> Trained LLMs (and our heavy fixtures) have outlier input channels
 *     whose weights are several times larger in every output. A group of 32 inputs that contains
 *     one such channel gets a scale sized for it, and its other 31 weights are crushed onto a few
 *     levels. Dividing each input channel by its RMS before grouping ({@code c[i]}, stored as f16)
 *     makes groups homogeneous, and the RMS error drops again. The cost is 16 bits per input
 *     per matrix (0.003 bits/weight at Grok-1's sizes).</li>
 * <li><b>8-bit log group scales.</b> After equalisation group scales vary little, so
 *     {@code ±S·2^(-k/16)} (k = 0..126, ±2.2% steps, S one float per matrix) loses nothing
 *     measurable against f16 and pays for the channel scales: 4.25 bits/weight + channel scales,
 *     under Q4_0's 4.5.</li>
 * </ul>
 *
 * <p><b>Byte layout</b> of an {@code [in, out]} matrix with group size G (even), {@code n =
 * ceil(in / G)} groups per row:
 * <ul>
 * <li>weights region: out-major rows of n·G/2 bytes; in a group, byte j holds input j in its low
 *     nibble and input j+G/2 in its high nibble (as q4). {@code in} need not be a multiple of G:
 *     the missing inputs of a ragged last group hold {@link #ZERO_CODE} and are never read.</li>
 * <li>scales region: a header — the float32 base S and {@code in} f16 channel scales c (all
 *     little-endian), padded to a multiple of 4 bytes ({@link #headerBytes}) — then
 *     {@code out × n} group-scale bytes, row-major, so row o's scales start at
 *     {@code headerBytes(in) + o·n} (a row-tiled writer places tiles without knowing out). A
 *     group-scale byte b decodes to {@link #groupScale}: sign {@code b & 0x80},
 *     {@code k = b & 0x7F}, magnitude {@code S·2^(-k/16)}; b = 0x7F is 0.</li>
 * </ul>
 */
public final class Q4Nl {
    private Q4Nl() {}

    /**
     * The grid, as int8 levels: llama.cpp's published IQ4_NL values (dense near zero, sparse in
     * the tails; asymmetric since 16 levels cannot include zero symmetrically).
     */
    static final byte[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** The levels as a byte shuffle table. */
    private static final ByteVector LEVEL_BYTES = ByteVector.fromArray(ByteVector.SPECIES_128, LEVELS, 0);

    /** The code whose level is nearest zero (used for the padding of a ragged last group). */
    public static final int ZERO_CODE = 8;

    /** The group-scale byte that means "all zero". */
    public static final int ZERO_SCALE = 0x7F;

    /** Lattice steps per octave of the log-coded group scales. */
    static final int STEPS_PER_OCTAVE = 16;

    /** S = (largest |w / c| of the matrix) / this: k = 0 is then 1.3× what the largest group needs. */
    static final float BASE_DIVISOR = 96f;

    static final float[] LEVEL_F = new float[16];

    /** 2^(-k/16) for k = 0..127, from StrictMath so encoder and kernels agree bit for bit everywhere. */
    static final float[] POW = new float[128];

    /**
     * Nearest-level table: for v in level units, {@code NEAREST[floor(2v) + 256]} (clamped to
     * [0, 511]) is the code of the nearest level. All levels are integers, so every decision
     * boundary (a midpoint of two levels) is a multiple of 1/2 and the table is exact.
     */
    static final byte[] NEAREST = new byte[512];
    /** The level of {@code NEAREST[k]}, as float (one load in the encoder's inner loop). */
    static final float[] NEAREST_LEVEL = new float[512];

    static {
        for (int i = 0; i < 16; i++) LEVEL_F[i] = LEVELS[i];
        for (int k = 0; k < 128; k++) POW[k] = (float) StrictMath.pow(2.0, -k / (double) STEPS_PER_OCTAVE);
        for (int k = 0; k < 512; k++) {
            // The half-unit cell [k/2 - 128, k/2 - 128 + 1/2): its midpoint decides (no boundary lies inside).
            double v = (k - 256) / 2.0 + 0.25;
            int best = 0;
            for (int c = 1; c < 16; c++) if (Math.abs(v - LEVELS[c]) < Math.abs(v - LEVELS[best])) best = c;
            NEAREST[k] = (byte) best;
            NEAREST_LEVEL[k] = LEVELS[best];
        }
    }

    /** The level nearest to {@code v}: {@code level(nearest(v))} in one table load. */
    static float nearestLevel(float v) {
        float t = 2f * v + 256f;
        int k = t <= 0f ? 0 : (t >= 511f ? 511 : (int) t);
        return NEAREST_LEVEL[k];
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

    /** The group scale that byte {@code b} encodes, for base {@code s}. */
    public static float groupScale(int b, float s) {
        b &= 0xff;
        if (b == ZERO_SCALE) return 0f;
        float m = s * POW[b & 0x7F];
        return (b & 0x80) != 0 ? -m : m;
    }

    /** All 256 group scales for base {@code s} (kernels decode a byte with one table load). */
    public static float[] groupScaleTable(float s) {
        float[] t = new float[256];
        for (int b = 0; b < 256; b++) t[b] = groupScale(b, s);
        return t;
    }

    /** Groups per row: {@code ceil(in / G)}. */
    public static int groups(int in, int groupSize) {
        return (in + groupSize - 1) / groupSize;
    }

    /** Bytes of the header at the start of the scales region: S (float32), in × f16 c, padded to a multiple of 4. */
    public static long headerBytes(int in) {
        return (4 + 2L * in + 3) / 4 * 4;
    }

    /** Bytes of the scales region. */
    public static long scaleBytes(int in, int out, int groupSize) {
        return headerBytes(in) + (long) out * groups(in, groupSize);
    }

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The base S stored in a scales region. */
    public static float base(MemorySegment scales) {
        return scales.get(F32, 0);
    }

    /** The channel scales c stored in a scales region, as floats. */
    public static float[] channelScales(MemorySegment scales, int in) {
        long off = 4;
        float[] c = new float[in];
        for (int i = 0; i < in; i++) c[i] = Float.float16ToFloat(scales.get(I16, off + 2L * i));
        return c;
    }

    /**
     * Scalar reference dequantization of row {@code o} (the {@code in} weights feeding output o)
     * into {@code dst[0..in)}. Slow and obviously correct: tests and the kernel's checks use it.
     */
    public static void dequantizeRow(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int o, float[] dst) {
        int g = spec.groupSize(), half = g / 2, groups = groups(in, g);
        float s = base(scales);
        float[] c = channelScales(scales, in);
        long gs = headerBytes(in);
        long rowBytes = (long) groups * half;
        for (int k = 0; k < groups; k++) {
            float d = groupScale(scales.get(ValueLayout.JAVA_BYTE, gs + (long) o * groups + k), s);
            long b0 = o * rowBytes + (long) k * half;
            for (int j = 0; j < half; j++) {
                int b = weights.get(ValueLayout.JAVA_BYTE, b0 + j) & 0xff;
                int lo = k * g + j, hi = lo + half;
                if (lo < in) dst[lo] = c[lo] * (d * LEVEL_F[b & 15]);
                if (hi < in) dst[hi] = c[hi] * (d * LEVEL_F[b >>> 4]);
            }
        }
    }

    /**
     * {Σw², Σ(w'−w)²} in float64 over {@code rows} rows of a q4nl matrix held in byte arrays:
     * {@code src} the source values (out-major), {@code w} the weights region, {@code s} a scales
     * region (header, then the rows' group scales), w' decoded exactly as {@link #dequantizeRow}
     * does. The converter's error report runs this over every expert weight, so it reads the
     * header once instead of once per row.
     */
    public static double[] errorSums(EncodingSpec spec, float[] src, int rows, int in, byte[] w, byte[] s) {
        int g = spec.groupSize(), half = g / 2, groups = groups(in, g);
        MemorySegment seg = MemorySegment.ofArray(s);
        float[] table = groupScaleTable(base(seg)), c = channelScales(seg, in);
        int gs = (int) headerBytes(in);
        double sum = 0, err = 0;
        DoubleVector vSum = DoubleVector.zero(DoubleVector.SPECIES_256), vErr = vSum;
        // small inputs: scalar (the Vector API is slow until compiled, see Q4NlEncoder.LANES_FROM)
        boolean vector = (long) rows * in >= Q4NlEncoder.LANES_FROM;
        for (int o = 0; o < rows; o++) {
            int xRow = o * in, wRow = o * groups * half;
            for (int k = 0; k < groups; k++) {
                float d = table[s[gs + o * groups + k] & 0xff];
                int i0 = k * g, n = Math.min(g, in - i0), wb = wRow + k * half, x0 = xRow + i0;
                if (vector && n == g && half % 16 == 0) {
                    // 16 codes per step: byte shuffle to int8 levels, widen to floats, then float64 sums
                    for (int j = 0; j < half; j += 16) {
                        ByteVector q = ByteVector.fromArray(ByteVector.SPECIES_128, w, wb + j);
                        ByteVector lo = q.and((byte) 0x0F).selectFrom(LEVEL_BYTES), hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(LEVEL_BYTES);
                        for (int part = 0; part < 2; part++) {
                            int il = i0 + j + 8 * part, ih = il + half;
                            FloatVector rl = ((FloatVector) lo.convertShape(VectorOperators.B2F, FloatVector.SPECIES_256, part)).mul(d).mul(FloatVector.fromArray(FloatVector.SPECIES_256, c, il));
                            FloatVector rh = ((FloatVector) hi.convertShape(VectorOperators.B2F, FloatVector.SPECIES_256, part)).mul(d).mul(FloatVector.fromArray(FloatVector.SPECIES_256, c, ih));
                            FloatVector al = FloatVector.fromArray(FloatVector.SPECIES_256, src, xRow + il), ah = FloatVector.fromArray(FloatVector.SPECIES_256, src, xRow + ih);
                            for (int h = 0; h < 2; h++) {
                                DoubleVector a = (DoubleVector) al.convertShape(VectorOperators.F2D, DoubleVector.SPECIES_256, h);
                                DoubleVector e = ((DoubleVector) rl.convertShape(VectorOperators.F2D, DoubleVector.SPECIES_256, h)).sub(a);
                                vSum = a.fma(a, vSum);
                                vErr = e.fma(e, vErr);
                                a = (DoubleVector) ah.convertShape(VectorOperators.F2D, DoubleVector.SPECIES_256, h);
                                e = ((DoubleVector) rh.convertShape(VectorOperators.F2D, DoubleVector.SPECIES_256, h)).sub(a);
                                vSum = a.fma(a, vSum);
                                vErr = e.fma(e, vErr);
                            }
                        }
                    }
                    continue;
                }
                // the low nibbles (inputs j < G/2), then the high ones
                for (int j = 0, m = Math.min(half, n); j < m; j++) {
                    double a = src[x0 + j], e = c[i0 + j] * (d * LEVEL_F[w[wb + j] & 15]) - a;
                    sum += a * a;
                    err += e * e;
                }
                for (int j = half; j < n; j++) {
                    double a = src[x0 + j], e = c[i0 + j] * (d * LEVEL_F[(w[wb + j - half] & 0xff) >>> 4]) - a;
                    sum += a * a;
                    err += e * e;
                }
            }
        }
        // lane sums in a fixed order: deterministic
        for (int l = 0; l < 4; l++) {
            sum += vSum.lane(l);
            err += vErr.lane(l);
        }
        return new double[] {sum, err};
    }
}
