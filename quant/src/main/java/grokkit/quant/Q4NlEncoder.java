package grokkit.quant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Encodes an out-major float matrix into {@code q4nl} ({@link Q4Nl}).
 *
 * <p>Two steps, so that a converter can stream a matrix in row tiles on many threads:
 * <ol>
 * <li>{@link ChannelStats}: one pass over the rows collects, per input channel, the sum of
 *     squares and the largest magnitude. {@link #prepare} turns them into the channel scales
 *     {@code c[i]} (the channel's RMS relative to the matrix's, rounded to f16) and the base S of
 *     the log-coded group scales. They go to the header of the scales region
 *     ({@link #writeHeader}).</li>
 * <li>{@link #encodeRows}: each row independently. Per group of G inputs of {@code x/c}: a scale
 *     search minimising the weighted squared error <em>in the original units</em>, then the
 *     nearer (in ratio) of the two neighbouring points of the log lattice, then nibble codes.</li>
 * </ol>
 *
 * <p>The search ({@link #encodeGroup}, the definition): for the candidate scales
 * {@code d = ±amax/127} (both signs, since the grid is asymmetric) every input gets
 * its nearest level and d is refitted by weighted least squares; the refitted error is
 * {@code Σw·x² − (Σw·x·L)²/Σw·L²}, so one pass per candidate pair suffices. The winner is
 * replaced by the nearer in ratio of its two neighbouring lattice scales {@code ±S·2^(-k/16)}.
 * One candidate pair and no exact comparison of the two lattice points keep the encoder within
 * issue 6's time bound; what the richer searches tried before gained and cost is in
 * docs/benchmarks/encoders.md.
 *
 * <p>Error weights: input j of a group counts {@code c[j]² · sqrt(σ² + x_j²)} (σ² = twice the
 * group's mean square of x/c; it leans toward the larger weights, which carry more of the output,
 * as llama.cpp's quantizers do), times an optional importance {@code E[a_j²]} of the input
 * activations over calibration tokens ({@link #prepare}'s {@code importance}).
 *
 * <p>Speed: the nearest level is a bucket lookup (at most two decision boundaries per bucket of
 * 16 level units), no search; 8 groups run at once, one per lane of a 256-bit vector
 * ({@link #encodeLanes}), so no sum is ever split across lanes.
 *
 * <p>Deterministic: IEEE float operations in a fixed order per group (the vector lanes do exactly
 * the scalar definition's operations), lattice points found by comparison with a table built by
 * {@link StrictMath}: same floats → same bytes on any machine, any thread count, any tiling of
 * rows. An instance is immutable and thread-safe.
 */
public final class Q4NlEncoder implements MatrixEncoder {
    /** Channel scales are clamped to this factor of the matrix RMS (either way), far inside f16's range. */
    static final float CHANNEL_RANGE = 4096f;

    private final EncodingSpec spec;
    private final int in;
    private final float base;
    /** Channel scales c (already rounded to f16), and their f16 bits. */
    private final float[] channel;
    private final short[] channelBits;
    private final float[] importance;
    private final float[] scaleTable;
    /** 1/c per input; the error weight factor c²(·importance) per input. */
    private final float[] invChannel, errorWeight;
    /** The same for the lane path: for the 8 groups from group k0 on, element j of lane l at [k0·G + j·8 + l]. */
    private final float[] invChannelT, errorWeightT;

    private Q4NlEncoder(EncodingSpec spec, int in, float base, float[] channel, short[] channelBits, float[] importance) {
        this.spec = spec;
        this.in = in;
        this.base = base;
        this.channel = channel;
        this.channelBits = channelBits;
        this.importance = importance;
        this.scaleTable = Q4Nl.groupScaleTable(base);
        this.invChannel = new float[in];
        this.errorWeight = new float[in];
        for (int i = 0; i < in; i++) {
            invChannel[i] = 1f / channel[i];
            float c2 = channel[i] * channel[i];
            errorWeight[i] = importance == null ? c2 : c2 * importance[i];
        }
        int g = spec.groupSize(), laneGroups = in / g / LANES * LANES;
        this.invChannelT = new float[laneGroups * g];
        this.errorWeightT = new float[laneGroups * g];
        for (int k0 = 0; k0 < laneGroups; k0 += LANES) {
            for (int lane = 0; lane < LANES; lane++) {
                for (int j = 0; j < g; j++) {
                    invChannelT[k0 * g + j * LANES + lane] = invChannel[(k0 + lane) * g + j];
                    errorWeightT[k0 * g + j * LANES + lane] = errorWeight[(k0 + lane) * g + j];
                }
            }
        }
    }

    /** Per-input-channel sums of squares and maxima of |w| over the rows seen so far. */
    public static final class ChannelStats {
        private final int in;
        private final double[] sumSq;
        private final float[] absMax;
        private long rows;

        private static final VectorSpecies<Float> STAT_F = FloatVector.SPECIES_256;
        private static final VectorSpecies<Double> STAT_D = DoubleVector.SPECIES_256;
        private static final VectorSpecies<Float> STAT_Q = FloatVector.SPECIES_128;
        private static final int STAT_LANES = 8;

        public ChannelStats(int in) {
            this.in = in;
            this.sumSq = new double[in];
            this.absMax = new float[in];
        }

        /** Adds {@code rows} out-major rows of {@code in} floats starting at {@code src[off]}. */
        public ChannelStats addRows(float[] src, int off, int rows) {
            // No check in the loop: a NaN or infinity makes the channel's maximum non-finite, checked below.
            // Lane-wise over channels (each channel's sum still runs over the rows in order).
            int vec = (long) rows * in >= LANES_FROM ? in / STAT_LANES * STAT_LANES : 0; // small: scalar (see LANES_FROM)
            for (int r = 0; r < rows; r++) {
                int b = off + r * in;
                for (int i = 0; i < vec; i += STAT_LANES) {
                    FloatVector v = FloatVector.fromArray(STAT_F, src, b + i);
                    FloatVector.fromArray(STAT_F, absMax, i).max(v.abs()).intoArray(absMax, i);
                    // Widen 4 floats at a time (128 → 256 bits, same lane count): C2 compiles that to one
                    // vcvtps2pd, while the 8-float vector's part 0/1 conversion fell back to Java code
                    // (toDoubleArray: ~half of this pass's time in a profile of the converter).
                    DoubleVector lo = (DoubleVector) FloatVector.fromArray(STAT_Q, src, b + i).convertShape(VectorOperators.F2D, STAT_D, 0);
                    DoubleVector hi = (DoubleVector) FloatVector.fromArray(STAT_Q, src, b + i + 4).convertShape(VectorOperators.F2D, STAT_D, 0);
                    lo.mul(lo).add(DoubleVector.fromArray(STAT_D, sumSq, i)).intoArray(sumSq, i);
                    hi.mul(hi).add(DoubleVector.fromArray(STAT_D, sumSq, i + 4)).intoArray(sumSq, i + 4);
                }
                for (int i = vec; i < in; i++) {
                    float v = src[b + i];
                    sumSq[i] += (double) v * v;
                    absMax[i] = Math.max(absMax[i], Math.abs(v));
                }
            }
            for (int i = 0; i < in; i++) {
                if (Float.isFinite(absMax[i])) continue;
                for (int r = 0; r < rows; r++) {
                    float v = src[off + r * in + i];
                    if (!Float.isFinite(v)) throw new IllegalArgumentException("q4nl: non-finite weight " + v + " at input " + i);
                }
                throw new IllegalArgumentException("q4nl: non-finite weights at input " + i); // from an earlier call
            }
            this.rows += rows;
            return this;
        }

        /**
         * Statistics computed elsewhere over all {@code rows} rows: per channel i, {@code sumSq[i]}
         * must be {@code Σ (double) w²} added in row order starting from 0 and {@code absMax[i]}
         * the largest |w| (then they equal {@link #addRows} over the same rows, bit for bit). For
         * callers that can read a channel's weights without first transposing them to rows.
         */
        public static ChannelStats ofChannels(double[] sumSq, float[] absMax, long rows) {
            if (sumSq.length != absMax.length) throw new IllegalArgumentException("q4nl: " + sumSq.length + " sums, " + absMax.length + " maxima");
            for (int i = 0; i < absMax.length; i++)
                if (!Float.isFinite(absMax[i]) || !Double.isFinite(sumSq[i])) throw new IllegalArgumentException("q4nl: non-finite weights at input " + i);
            ChannelStats c = new ChannelStats(sumSq.length);
            System.arraycopy(sumSq, 0, c.sumSq, 0, sumSq.length);
            System.arraycopy(absMax, 0, c.absMax, 0, absMax.length);
            c.rows = rows;
            return c;
        }

        /** Adds another tile's statistics. Merge tiles in row order for byte-identical output. */
        public ChannelStats merge(ChannelStats other) {
            if (other.in != in) throw new IllegalArgumentException("q4nl: merging stats of in=" + other.in + " into in=" + in);
            for (int i = 0; i < in; i++) {
                sumSq[i] += other.sumSq[i];
                absMax[i] = Math.max(absMax[i], other.absMax[i]);
            }
            rows += other.rows;
            return this;
        }

        public long rows() {
            return rows;
        }
    }

    /**
     * An encoder for one matrix whose rows produced {@code stats}.
     *
     * @param spec       a {@code q4nl} spec
     * @param stats      the channel statistics of all the matrix's rows
     * @param importance per-input importance (length in, finite, ≥ 0; e.g. mean squared
     *                   activation from calibration), or null
     */
    public static Q4NlEncoder prepare(EncodingSpec spec, ChannelStats stats, float[] importance) {
        if (spec.encoding() != Encoding.Q4NL) throw new IllegalArgumentException("not a q4nl spec: " + spec);
        spec.checkShape(stats.in, 1);
        if (stats.rows == 0) throw new IllegalArgumentException("q4nl: no rows in the channel statistics");
        int in = stats.in;
        if (importance != null) {
            if (importance.length != in)
                throw new IllegalArgumentException("q4nl: importance has " + importance.length + " entries, the matrix has in=" + in);
            for (float v : importance)
                if (!(v >= 0) || !Float.isFinite(v)) throw new IllegalArgumentException("q4nl: importance must be finite and >= 0, got " + v);
            importance = importance.clone();
        }
        double total = 0;
        for (double s : stats.sumSq) total += s;
        double meanRms = Math.sqrt(total / ((double) in * stats.rows));
        float[] c = new float[in];
        short[] bits = new short[in];
        float maxScaled = 0;
        for (int i = 0; i < in; i++) {
            double rms = Math.sqrt(stats.sumSq[i] / stats.rows);
            float ratio = meanRms > 0 && rms > 0 ? (float) (rms / meanRms) : 1f;
            ratio = Math.min(CHANNEL_RANGE, Math.max(1f / CHANNEL_RANGE, ratio));
            bits[i] = Float.floatToFloat16(ratio);
            c[i] = Float.float16ToFloat(bits[i]);
            maxScaled = Math.max(maxScaled, stats.absMax[i] / c[i]);
        }
        float base = maxScaled > 0 ? maxScaled / Q4Nl.BASE_DIVISOR : 1f;
        return new Q4NlEncoder(spec, in, base, c, bits, importance);
    }

    /** Convenience for whole in-memory matrices: statistics, then the encoder. */
    public static Q4NlEncoder prepare(EncodingSpec spec, float[] outMajor, int in, int out, float[] importance) {
        return prepare(spec, new ChannelStats(in).addRows(outMajor, 0, out), importance);
    }

    @Override
    public EncodingSpec spec() {
        return spec;
    }

    @Override
    public int in() {
        return in;
    }

    /**
     * {@code w' = c[i] · (d · level)}, as {@link Q4Nl#dequantizeRow} computes it, with this
     * encoder's channel scales and group-scale table instead of the header's (the same values:
     * the header stores exactly these f16 bits and base), from plain arrays.
     */
    @Override
    public void decodeRow(byte[] w, int wOff, byte[] s, int sOff, float[] dst) {
        int g = spec.groupSize(), half = g / 2, groups = Q4Nl.groups(in, g);
        float[] c = channel, d = scaleTable, level = Q4Nl.LEVEL_F;
        for (int k = 0; k < groups; k++) {
            float dk = d[s[sOff + k] & 0xff];
            int gb = k * g, kb = wOff + k * half;
            if (gb + g <= in) {
                for (int j = 0; j < half; j++) {
                    int b = w[kb + j] & 0xff;
                    dst[gb + j] = c[gb + j] * (dk * level[b & 15]);
                    dst[gb + half + j] = c[gb + half + j] * (dk * level[b >>> 4]);
                }
            } else { // a ragged last group: its missing inputs are padding
                for (int j = 0; j < half; j++) {
                    int b = w[kb + j] & 0xff, lo = gb + j, hi = lo + half;
                    if (lo < in) dst[lo] = c[lo] * (dk * level[b & 15]);
                    if (hi < in) dst[hi] = c[hi] * (dk * level[b >>> 4]);
                }
            }
        }
    }

    /** The base S of the group scales. */
    public float base() {
        return base;
    }

    /** The channel scales c (f16-rounded), a copy. */
    public float[] channelScales() {
        return channel.clone();
    }

    /** Bytes of one row in the weights region. */
    @Override
    public int weightRowBytes() {
        return Q4Nl.groups(in, spec.groupSize()) * (spec.groupSize() / 2);
    }

    /** Bytes of one row's group scales (the scales region holds {@code out} of these, then the header). */
    @Override
    public int scaleRowBytes() {
        return Q4Nl.groups(in, spec.groupSize());
    }

    /** Bytes of the header: S (float32) and the {@code in} f16 channel scales, padded to 4. */
    @Override
    public int headerBytes() {
        return (int) Q4Nl.headerBytes(in);
    }

    /** Writes the header at {@code dst[off..]}; it starts the scales region (group scales follow at {@link #headerBytes}). */
    @Override
    public void writeHeader(byte[] dst, int off) {
        int b = Float.floatToRawIntBits(base);
        for (int k = 0; k < 4; k++) dst[off + k] = (byte) (b >>> (8 * k));
        for (int i = 0; i < in; i++) {
            dst[off + 4 + 2 * i] = (byte) channelBits[i];
            dst[off + 5 + 2 * i] = (byte) (channelBits[i] >>> 8);
        }
    }

    /**
     * Encodes {@code rows} consecutive out-major rows starting at {@code src[srcOff]}: weight bytes
     * to {@code w[wOff..]} ({@link #weightRowBytes} per row), group-scale bytes to
     * {@code s[sOff..]} ({@link #scaleRowBytes} per row; in the scales region row o's start at
     * {@code headerBytes() + o·scaleRowBytes()}).
     *
     * <p>Each run of 8 consecutive full groups of a row is encoded by {@link #encodeLanes} (one
     * group per vector lane); the remaining groups of the row (and a ragged last group) by
     * {@link #encodeGroup}. Both perform the same IEEE operations in the same order per group, so
     * which path a group takes never changes a byte (Q4NlTest checks it).
     */
    @Override
    public void encodeRows(float[] src, int srcOff, int rows, byte[] w, int wOff, byte[] s, int sOff) {
        encodeRows(src, srcOff, rows, w, wOff, s, sOff, (long) rows * in >= LANES_FROM);
    }

    /**
     * Calls with fewer weights take the scalar path (same bytes): until C2 has compiled the lane
     * code, the Vector API runs as plain Java objects, far slower than scalar code, and small
     * matrices (test fixtures) would never pay that back. The converter's tiles are ~2M weights.
     */
    static final long LANES_FROM = 1 << 18;

    /** {@link #encodeRows}; with {@code lanes} false every group takes the scalar definition (tests compare the two). */
    void encodeRows(float[] src, int srcOff, int rows, byte[] w, int wOff, byte[] s, int sOff, boolean lanes) {
        int g = spec.groupSize(), half = g / 2, groups = Q4Nl.groups(in, g), blocks = lanes ? in / g / LANES : 0;
        Lanes t = new Lanes(g);
        for (int r = 0; r < rows; r++) {
            int row = srcOff + r * in, wRow = wOff + r * groups * half, sRow = sOff + r * groups;
            for (int b = 0; b < blocks; b++) encodeLanes(src, row, b * LANES, g, t, w, wRow, s, sRow);
            for (int k = blocks * LANES; k < groups; k++) {
                int i0 = k * g;
                s[sRow + k] = (byte) encodeGroup(src, row + i0, i0, Math.min(g, in - i0), g, t.x, w, wRow + k * half);
            }
        }
    }

    /** Encodes a whole matrix: {weights region, scales region (group scales + header)}. */
    public byte[][] encodeMatrix(float[] outMajor, int out) {
        byte[] w = new byte[Math.toIntExact(spec.weightBytes(in, out))];
        byte[] s = new byte[Math.toIntExact(spec.scaleBytes(in, out))];
        writeHeader(s, 0);
        encodeRows(outMajor, 0, out, w, 0, s, headerBytes());
        return new byte[][] {w, s};
    }

    // ---- the definition: one group, scalar ----

    /**
     * Encodes one group of {@code n ≤ g} inputs ({@code src[at..at+n)}, input channels
     * {@code i0..}): codes to {@code w[wAt..wAt+g/2)}, returns the group-scale byte. This is the
     * definition of the encoding; {@link #encodeLanes} computes exactly the same for 8 groups.
     */
    int encodeGroup(float[] src, int at, int i0, int n, int g, float[] x, byte[] w, int wAt) {
        int half = g / 2;
        float amax = 0, ms = 0;
        for (int j = 0; j < n; j++) {
            float v = src[at + j] * invChannel[i0 + j];
            x[j] = v;
            amax = Math.max(amax, Math.abs(v));
            ms = Math.fma(v, v, ms);
        }
        if (amax == 0) {
            for (int j = 0; j < half; j++) w[wAt + j] = (byte) (Q4Nl.ZERO_CODE | Q4Nl.ZERO_CODE << 4);
            return Q4Nl.ZERO_SCALE;
        }
        // Search: d = ±amax/127 (both signs: the grid is asymmetric), nearest levels, weighted
        // least-squares refit d* = Σw·x·L / Σw·L², whose error is Σw·x² − (Σw·x·L)²/Σw·L².
        float sigma2 = 2f * ms / n, dp = amax / 127f, ip = 1f / dp;
        float sxp = 0, slp = 0, sxm = 0, slm = 0;
        for (int j = 0; j < n; j++) {
            float v = x[j], wj = errorWeight[i0 + j] * (float) Math.sqrt(Math.fma(v, v, sigma2));
            float u = v * ip, lp = levelOf(u), lm = levelOf(-u);
            float a = wj * lp, b = wj * lm;
            sxp = Math.fma(a, v, sxp);
            slp = Math.fma(a, lp, slp);
            sxm = Math.fma(b, v, sxm);
            slm = Math.fma(b, lm, slm);
        }
        float best = 0, d = dp, score;
        if (slp > 0 && (score = sxp * sxp / slp) > best) { best = score; d = sxp / slp; }
        if (slm > 0 && (score = sxm * sxm / slm) > best) { best = score; d = sxm / slm; }
        // The nearer (in ratio) of the two lattice points around d*.
        int c0 = closerLattice(latticeBelow(d), d);
        float inv = 1f / scaleTable[c0];
        for (int j = 0; j < half; j++) {
            int lo = j < n ? codeOf(x[j] * inv) : Q4Nl.ZERO_CODE;
            int hi = j + half < n ? codeOf(x[j + half] * inv) : Q4Nl.ZERO_CODE;
            w[wAt + j] = (byte) (lo | hi << 4);
        }
        return c0;
    }

    /** The scale byte of the largest lattice magnitude S·2^(-k/16) ≥ |d| (k ≤ 126; k = 0 if |d| exceeds them all), sign of d. */
    int latticeBelow(float d) {
        float a = Math.abs(d);
        // An estimate of k, then exact steps against the table (the estimate only saves a binary
        // search: the answer is defined by the table alone).
        // (bits(a) - bits(S)) / 2^23 is log2(a/S) within ±0.09 for positive normal floats (the
        // exponent exactly, the mantissa linearly): an estimate within 3 steps, no logarithm.
        float est = (Float.floatToRawIntBits(scaleTable[0]) - Float.floatToRawIntBits(a)) * (STEPS_PER_OCTAVE_F / 8388608f);
        int k = est <= 0 ? 0 : est >= 126 ? 126 : (int) est;
        while (k > 0 && scaleTable[k] < a) k--;
        while (k < 126 && scaleTable[k + 1] >= a) k++;
        return (d < 0 ? 0x80 : 0) | k;
    }

    private static final float STEPS_PER_OCTAVE_F = Q4Nl.STEPS_PER_OCTAVE;

    /**
     * Of lattice byte {@code c} (magnitude ≥ |d|) and the next smaller magnitude, the one nearer
     * to d in ratio: the smaller one if {@code |d|} is below their geometric mean, i.e. if
     * {@code t(c)·t(c+1) > d²} (cheaper than trying both exactly: docs/benchmarks/encoders.md).
     */
    int closerLattice(int c, float d) {
        int c1 = nextLattice(c);
        return c1 != c && scaleTable[c] * scaleTable[c1] > d * d ? c1 : c;
    }

    /** The next smaller lattice magnitude's byte (same sign), or {@code c} itself at k = 126. */
    static int nextLattice(int c) {
        return (c & 0x7F) < 126 ? c + 1 : c;
    }

    /**
     * Decision boundaries of the grid: the midpoints of consecutive levels (all levels are
     * integers, so these are exact multiples of 1/2). The bucket tables below are built from them.
     */
    static final float[] BOUNDS = new float[15];

    static {
        for (int i = 0; i < 15; i++) BOUNDS[i] = (Q4Nl.level(i) + Q4Nl.level(i + 1)) / 2f;
    }

    /** The code of the level nearest v (upper one on a midpoint; NaN → 0): the number of boundaries ≤ v (the definition). */
    static int codeByCount(float v) {
        int c = 0;
        for (float b : BOUNDS) if (v >= b) c++;
        return c;
    }

    /** {@link #codeByCount}, computed as the vector passes do: the bucket of v, then its (at most two) boundaries. */
    static int codeOf(float v) {
        int q = (int) Math.min(15f, Math.max(0f, Math.fma(v, 0.0625f, 8f)));
        int c = BUCKET_CODE[q];
        if (v >= BUCKET_B1F[q]) c++;
        if (v >= BUCKET_B2F[q]) c++;
        return c;
    }

    static float levelOf(float v) {
        return Q4Nl.level(codeOf(v));
    }

    // ---- the same for 8 groups at once, one per lane ----

    /**
     * Fixed 256-bit species: lanes never interact (no horizontal operation), so the width could
     * not change a result anyway; 256 bits exist on every AVX2 machine and the Vector API emulates
     * wider species very slowly where they are missing.
     */
    private static final VectorSpecies<Float> W = FloatVector.SPECIES_256;
    static final int LANES = 8;

    static {
        if (W.length() != LANES) throw new AssertionError("species length");
    }

    /** Per-call buffers: transposed group values ([j·8 + lane]), per-lane figures. */
    private static final class Lanes {
        final float[] x, d0, e0, amax, inv;
        final int[] codes, gather = new int[LANES];

        Lanes(int g) {
            for (int lane = 0; lane < LANES; lane++) gather[lane] = lane * g;
            x = new float[g * LANES];
            codes = new int[g / 2 * LANES];
            d0 = new float[LANES];
            e0 = new float[LANES];
            amax = new float[LANES];
            inv = new float[LANES];
        }
    }

    /**
     * {@link #encodeGroup} for the 8 full groups {@code k0..k0+7} of the row at {@code src[row..]}:
     * the groups are transposed into {@code t.x[j·8 + lane]}, and every step of the definition
     * becomes a lane-wise vector operation (the per-group sums stay sequential within a lane).
     */
    private void encodeLanes(float[] src, int row, int k0, int g, Lanes t, byte[] w, int wRow, byte[] s, int sRow) {
        int base = row + k0 * g, cb = k0 * g, half = g / 2;
        float[] x = t.x;
        int[] gather = t.gather;
        FloatVector amax = FloatVector.zero(W), ms = amax;
        // element j of the 8 groups: a gather at stride G (one instruction), transposing as it loads
        for (int j = 0, p = 0; j < g; j++, p += LANES) {
            FloatVector v = FloatVector.fromArray(W, src, base + j, gather, 0).mul(FloatVector.fromArray(W, invChannelT, cb + p));
            v.intoArray(x, p);
            amax = amax.max(v.abs());
            ms = v.fma(v, ms);
        }
        amax.intoArray(t.amax, 0);
        ms.mul(2f).div((float) g).intoArray(t.e0, 0); // σ²
        searchLanes(x, errorWeightT, cb, g, t);
        for (int lane = 0; lane < LANES; lane++) {
            if (t.amax[lane] == 0) {
                s[sRow + k0 + lane] = (byte) Q4Nl.ZERO_SCALE;
                t.inv[lane] = 0f; // every code becomes the zero code
                continue;
            }
            float d = t.d0[lane];
            int c = closerLattice(latticeBelow(d), d);
            s[sRow + k0 + lane] = (byte) c;
            t.inv[lane] = 1f / scaleTable[c];
        }
        packLanes(x, half, t);
        int[] codes = t.codes;
        for (int lane = 0; lane < LANES; lane++) {
            int to = wRow + (k0 + lane) * half;
            for (int j = 0, p = lane; j < half; j++, p += LANES) w[to + j] = (byte) codes[p];
        }
    }

    /*
     * The three vector passes below spell out the nearest-level chain (one compare with each
     * decision boundary and one blend of the level above it per boundary: the compares are
     * monotone, so the last blend that applies leaves the nearest level) instead of calling a
     * helper: a helper that C2 compiles on its own first is then not inlined ("already compiled
     * into a medium method") and every vector in it gets boxed, 10-100x slower. Each pass is too
     * large to be inlined into encodeLanes, so it gets its own node budget (docs/KERNELS.md).
     * Q4NlTest checks every lane path against the scalar definition.
     */

    /*
     * The nearest level per lane, without a compare per boundary: the bucket q = floor(v/16 + 8)
     * (clamped to 0..15) of width 16 holds at most two decision boundaries, so the level is the
     * level just below the bucket, replaced by the next one if v reaches the bucket's first
     * boundary, and by the one after if it reaches the second ("no boundary" is NaN: never
     * reached). Five 16-entry table lookups (two-vector selectFrom: one permute each), two
     * compares, two blends. Exact for every float, NaN and infinities included: the bucket index
     * can only round up across a bucket edge (v/16 is exact, + 8 rounds), and then v lies below
     * all of that bucket's boundaries, so the answer is the level just below it, which is right.
     * The chains are spelled out in each pass rather than called: a helper that C2 compiles on
     * its own first is then not inlined ("already compiled into a medium method") and every
     * vector in it gets boxed. Q4NlTest checks every lane path against the scalar definition.
     */

    /** Level/code tables per bucket, as float bits: below the bucket, after its 1st / 2nd boundary, and the boundaries. */
    static final int[] LEVEL_LO = new int[16], LEVEL_1 = new int[16], LEVEL_2 = new int[16],
            CODE_LO = new int[16], CODE_1 = new int[16], CODE_2 = new int[16], BUCKET_B1 = new int[16], BUCKET_B2 = new int[16];

    /** The same per bucket for the scalar path: code below the bucket, its boundaries (NaN: none). */
    static final int[] BUCKET_CODE = new int[16];
    static final float[] BUCKET_B1F = new float[16], BUCKET_B2F = new float[16];

    static {
        for (int q = 0; q < 16; q++) {
            float edge = 16 * q - 128;
            int below = 0;
            while (below < 15 && BOUNDS[below] < edge) below++;
            int inside = 0;
            while (below + inside < 15 && BOUNDS[below + inside] < edge + 16) inside++;
            if (inside > 2) throw new AssertionError("bucket " + q + " holds " + inside + " boundaries");
            LEVEL_LO[q] = Float.floatToRawIntBits(Q4Nl.level(below));
            LEVEL_1[q] = Float.floatToRawIntBits(Q4Nl.level(Math.min(15, below + 1)));
            LEVEL_2[q] = Float.floatToRawIntBits(Q4Nl.level(Math.min(15, below + 2)));
            CODE_LO[q] = Float.floatToRawIntBits(below);
            CODE_1[q] = Float.floatToRawIntBits(Math.min(15, below + 1));
            CODE_2[q] = Float.floatToRawIntBits(Math.min(15, below + 2));
            BUCKET_B1[q] = Float.floatToRawIntBits(inside > 0 ? BOUNDS[below] : Float.NaN);
            BUCKET_B2[q] = Float.floatToRawIntBits(inside > 1 ? BOUNDS[below + 1] : Float.NaN);
            BUCKET_CODE[q] = below;
            BUCKET_B1F[q] = Float.intBitsToFloat(BUCKET_B1[q]);
            BUCKET_B2F[q] = Float.intBitsToFloat(BUCKET_B2[q]);
        }
    }

    private static final VectorSpecies<Integer> WI = IntVector.SPECIES_256;

    private static IntVector table(int[] t, int from) {
        return IntVector.fromArray(WI, t, from);
    }

    /** The search of {@link #encodeGroup} for 8 groups: the refitted scales d* into t.d0. */
    private static void searchLanes(float[] x, float[] ewT, int cb, int g, Lanes t) {
        IntVector b1A = table(BUCKET_B1, 0), b1B = table(BUCKET_B1, 8), b2A = table(BUCKET_B2, 0), b2B = table(BUCKET_B2, 8);
        IntVector lvLoA = table(LEVEL_LO, 0), lvLoB = table(LEVEL_LO, 8), lv1A = table(LEVEL_1, 0), lv1B = table(LEVEL_1, 8), lv2A = table(LEVEL_2, 0), lv2B = table(LEVEL_2, 8);
        FloatVector amax = FloatVector.fromArray(W, t.amax, 0), sigma2 = FloatVector.fromArray(W, t.e0, 0);
        FloatVector dp = amax.div(127f), ip = FloatVector.broadcast(W, 1f).div(dp);
        FloatVector sxp = FloatVector.zero(W), slp = sxp, sxm = sxp, slm = sxp;
        for (int p = 0; p < g * LANES; p += LANES) {
            FloatVector v = FloatVector.fromArray(W, x, p);
            FloatVector wj = FloatVector.fromArray(W, ewT, cb + p).mul(v.fma(v, sigma2).sqrt());
            FloatVector u = v.mul(ip), n = u.neg();
            IntVector qu = (IntVector) u.fma(0.0625f, 8f).max(0f).min(15f).convert(VectorOperators.F2I, 0);
            FloatVector lp = qu.selectFrom(lvLoA, lvLoB).reinterpretAsFloats()
                    .blend(qu.selectFrom(lv1A, lv1B).reinterpretAsFloats(), u.compare(GE, qu.selectFrom(b1A, b1B).reinterpretAsFloats()))
                    .blend(qu.selectFrom(lv2A, lv2B).reinterpretAsFloats(), u.compare(GE, qu.selectFrom(b2A, b2B).reinterpretAsFloats()));
            IntVector qn = (IntVector) n.fma(0.0625f, 8f).max(0f).min(15f).convert(VectorOperators.F2I, 0);
            FloatVector lm = qn.selectFrom(lvLoA, lvLoB).reinterpretAsFloats()
                    .blend(qn.selectFrom(lv1A, lv1B).reinterpretAsFloats(), n.compare(GE, qn.selectFrom(b1A, b1B).reinterpretAsFloats()))
                    .blend(qn.selectFrom(lv2A, lv2B).reinterpretAsFloats(), n.compare(GE, qn.selectFrom(b2A, b2B).reinterpretAsFloats()));
            FloatVector a = wj.mul(lp), b = wj.mul(lm);
            sxp = a.fma(v, sxp);
            slp = a.fma(lp, slp);
            sxm = b.fma(v, sxm);
            slm = b.fma(lm, slm);
        }
        FloatVector zero = FloatVector.zero(W);
        FloatVector sp = sxp.mul(sxp).div(slp), sm = sxm.mul(sxm).div(slm);
        VectorMask<Float> takeP = slp.compare(GT, zero).and(sp.compare(GT, zero));
        FloatVector best = zero.blend(sp, takeP), d = dp.blend(sxp.div(slp), takeP);
        VectorMask<Float> takeM = slm.compare(GT, zero).and(sm.compare(GT, best));
        d.blend(sxm.div(slm), takeM).intoArray(t.d0, 0);
    }

    /** The levels of values v (in level units), 8 at a time: the search's lookup, for the tests. */
    static void levelLanes(float[] v, float[] levels) {
        IntVector b1A = table(BUCKET_B1, 0), b1B = table(BUCKET_B1, 8), b2A = table(BUCKET_B2, 0), b2B = table(BUCKET_B2, 8);
        IntVector lvLoA = table(LEVEL_LO, 0), lvLoB = table(LEVEL_LO, 8), lv1A = table(LEVEL_1, 0), lv1B = table(LEVEL_1, 8), lv2A = table(LEVEL_2, 0), lv2B = table(LEVEL_2, 8);
        for (int p = 0; p + LANES <= v.length; p += LANES) {
            FloatVector u = FloatVector.fromArray(W, v, p);
            IntVector qu = (IntVector) u.fma(0.0625f, 8f).max(0f).min(15f).convert(VectorOperators.F2I, 0);
            FloatVector lu = qu.selectFrom(lvLoA, lvLoB).reinterpretAsFloats()
                    .blend(qu.selectFrom(lv1A, lv1B).reinterpretAsFloats(), u.compare(GE, qu.selectFrom(b1A, b1B).reinterpretAsFloats()))
                    .blend(qu.selectFrom(lv2A, lv2B).reinterpretAsFloats(), u.compare(GE, qu.selectFrom(b2A, b2B).reinterpretAsFloats()));
            lu.intoArray(levels, p);
        }
    }

    /** Codes for scales 1/t.inv: byte j of each lane's group = code(x_j) | code(x_{j+G/2}) << 4, into t.codes[j·8 + lane]. */
    private static void packLanes(float[] x, int half, Lanes t) {
        IntVector b1A = table(BUCKET_B1, 0), b1B = table(BUCKET_B1, 8), b2A = table(BUCKET_B2, 0), b2B = table(BUCKET_B2, 8);
        IntVector cdLoA = table(CODE_LO, 0), cdLoB = table(CODE_LO, 8), cd1A = table(CODE_1, 0), cd1B = table(CODE_1, 8), cd2A = table(CODE_2, 0), cd2B = table(CODE_2, 8);
        FloatVector inv = FloatVector.fromArray(W, t.inv, 0);
        int hp = half * LANES;
        for (int p = 0; p < hp; p += LANES) {
            FloatVector u = FloatVector.fromArray(W, x, p).mul(inv), h = FloatVector.fromArray(W, x, p + hp).mul(inv);
            IntVector qu = (IntVector) u.fma(0.0625f, 8f).max(0f).min(15f).convert(VectorOperators.F2I, 0);
            FloatVector lo = qu.selectFrom(cdLoA, cdLoB).reinterpretAsFloats()
                    .blend(qu.selectFrom(cd1A, cd1B).reinterpretAsFloats(), u.compare(GE, qu.selectFrom(b1A, b1B).reinterpretAsFloats()))
                    .blend(qu.selectFrom(cd2A, cd2B).reinterpretAsFloats(), u.compare(GE, qu.selectFrom(b2A, b2B).reinterpretAsFloats()));
            IntVector qh = (IntVector) h.fma(0.0625f, 8f).max(0f).min(15f).convert(VectorOperators.F2I, 0);
            FloatVector hi = qh.selectFrom(cdLoA, cdLoB).reinterpretAsFloats()
                    .blend(qh.selectFrom(cd1A, cd1B).reinterpretAsFloats(), h.compare(GE, qh.selectFrom(b1A, b1B).reinterpretAsFloats()))
                    .blend(qh.selectFrom(cd2A, cd2B).reinterpretAsFloats(), h.compare(GE, qh.selectFrom(b2A, b2B).reinterpretAsFloats()));
            ((IntVector) hi.mul(16f).add(lo).convert(VectorOperators.F2I, 0)).intoArray(t.codes, p);
        }
    }

    private static final VectorOperators.Comparison GE = VectorOperators.GE, GT = VectorOperators.GT;

    /** Test hook for the vector chains on 8 values v: their levels (the search's lookup) and codes (packLanes', scale 1). */
    static void vectorChains(float[] v, float[] levels, int[] codes) {
        Lanes t = new Lanes(2);
        float[] x = new float[2 * LANES];
        System.arraycopy(v, 0, x, 0, LANES);
        java.util.Arrays.fill(t.inv, 1f);
        packLanes(x, 1, t);
        for (int k = 0; k < LANES; k++) codes[k] = t.codes[k] & 15;
        levelLanes(v, levels);
    }
}
