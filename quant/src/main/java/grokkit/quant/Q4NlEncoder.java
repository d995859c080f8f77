package grokkit.quant;

import java.util.Arrays;

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
 *     nearest points of the log lattice, then nibble codes.</li>
 * </ol>
 *
 * <p>The search: for candidate scales {@code d = ±amax/127 · f} ({@link #FACTORS}; both signs,
 * since the grid is asymmetric) every input gets its nearest level and d is refitted by
 * weighted least squares; the refitted error is {@code Σw·x² − (Σw·x·L)²/Σw·L²}, so one pass per
 * candidate suffices. The winner's two neighbouring lattice scales {@code ±S·2^(-k/16)} are then
 * tried exactly (codes re-assigned) and the better one is stored.
 *
 * <p>Error weights: input j of a group counts {@code c[j]² · sqrt(σ² + x_j²)} (σ² = twice the
 * group's mean square of x/c; it leans toward the larger weights, which carry more of the output,
 * as llama.cpp's quantizers do), times an optional importance {@code E[a_j²]} of the input
 * activations over calibration tokens ({@link #prepare}'s {@code importance}).
 *
 * <p>Deterministic: scalar float arithmetic in a fixed order, lattice points found by comparison
 * with a table built by {@link StrictMath} (same floats → same bytes on any machine). An instance is immutable and thread-safe.
 */
public final class Q4NlEncoder {
    /**
     * Scale candidates, as multiples of amax/127 (both signs are tried). With the least-squares
     * refit, 3 candidates per sign are within 1% of the RMS error of 9 (0.0671 vs 0.0666 on
     * the first, 64-wide tiny-12l's experts) at a third of the time.
     */
    static final float[] FACTORS = {0.9f, 1.0f, 1.1f};

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

    private Q4NlEncoder(EncodingSpec spec, int in, float base, float[] channel, short[] channelBits, float[] importance) {
        this.spec = spec;
        this.in = in;
        this.base = base;
        this.channel = channel;
        this.channelBits = channelBits;
        this.importance = importance;
        this.scaleTable = Q4Nl.groupScaleTable(base);
    }

    /** Per-input-channel sums of squares and maxima of |w| over the rows seen so far. */
    public static final class ChannelStats {
        private final int in;
        private final double[] sumSq;
        private final float[] absMax;
        private long rows;

        public ChannelStats(int in) {
            this.in = in;
            this.sumSq = new double[in];
            this.absMax = new float[in];
        }

        /** Adds {@code rows} out-major rows of {@code in} floats starting at {@code src[off]}. */
        public ChannelStats addRows(float[] src, int off, int rows) {
            for (int r = 0; r < rows; r++) {
                int b = off + r * in;
                for (int i = 0; i < in; i++) {
                    float v = src[b + i];
                    if (!Float.isFinite(v)) throw new IllegalArgumentException("q4nl: non-finite weight " + v + " at input " + i);
                    sumSq[i] += (double) v * v;
                    absMax[i] = Math.max(absMax[i], Math.abs(v));
                }
            }
            this.rows += rows;
            return this;
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
        if (!EncodingSpec.Q4NL.equals(spec.name())) throw new IllegalArgumentException("not a q4nl spec: " + spec);
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

    public EncodingSpec spec() {
        return spec;
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
    public int weightRowBytes() {
        return Q4Nl.groups(in, spec.groupSize()) * (spec.groupSize() / 2);
    }

    /** Bytes of one row's group scales (the scales region holds {@code out} of these, then the header). */
    public int scaleRowBytes() {
        return Q4Nl.groups(in, spec.groupSize());
    }

    /** Bytes of the header: S (float32) and the {@code in} f16 channel scales, padded to 4. */
    public int headerBytes() {
        return (int) Q4Nl.headerBytes(in);
    }

    /** Writes the header at {@code dst[off..]}; it starts the scales region (group scales follow at {@link #headerBytes}). */
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
     */
    public void encodeRows(float[] src, int srcOff, int rows, byte[] w, int wOff, byte[] s, int sOff) {
        int g = spec.groupSize(), half = g / 2, groups = Q4Nl.groups(in, g);
        float[] x = new float[g], wt = new float[g];
        for (int r = 0; r < rows; r++) {
            int row = srcOff + r * in;
            for (int k = 0; k < groups; k++) {
                int i0 = k * g, n = Math.min(g, in - i0);
                for (int j = 0; j < n; j++) x[j] = src[row + i0 + j] / channel[i0 + j];
                Arrays.fill(x, n, g, 0f);
                errorWeights(x, n, i0, wt);
                int code = scaleCode(x, wt, n);
                s[sOff + r * groups + k] = (byte) code;
                pack(x, n, scaleTable[code], w, wOff + r * groups * half + k * half, half);
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

    /** The squared-error weight of each of the group's n inputs (0 for padding). */
    private void errorWeights(float[] x, int n, int i0, float[] wt) {
        float ms = 0;
        for (int j = 0; j < n; j++) ms = Math.fma(x[j], x[j], ms);
        float sigma2 = 2f * ms / n;
        for (int j = 0; j < n; j++) {
            float c = channel[i0 + j];
            float v = c * c * (float) Math.sqrt(sigma2 + x[j] * x[j]);
            wt[j] = importance == null ? v : v * importance[i0 + j];
        }
        Arrays.fill(wt, n, wt.length, 0f);
    }

    /** The group-scale byte for one group: continuous search, then the better neighbouring lattice point. */
    int scaleCode(float[] x, float[] wt, int n) {
        float d = searchScale(x, wt, n);
        if (d == 0) return Q4Nl.ZERO_SCALE;
        // k0 = floor(-16·log2(|d|/S)): the largest k ≤ 126 whose lattice magnitude S·2^(-k/16) is still ≥ |d|
        // (a binary search over the decreasing table: exact, no logarithm), and its neighbour below.
        float a = Math.abs(d);
        int lo = 0, hi = 126;
        if (a > scaleTable[0]) hi = 0;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (scaleTable[mid] >= a) lo = mid;
            else hi = mid - 1;
        }
        int k0 = lo;
        int k1 = Math.min(126, k0 + 1);
        int sign = d < 0 ? 0x80 : 0;
        int best = sign | k0;
        if (k1 != k0 && k1BeatsK0(x, wt, n, scaleTable[sign | k1], scaleTable[best])) best = sign | k1;
        return best;
    }

    /**
     * {@code error(x, wt, n, d1) < error(x, wt, n, d0)}, with both sums in one pass: two
     * independent accumulation chains (each in {@link #error}'s exact order, so the decision is
     * bit-for-bit the same) instead of two passes each bound by its chain's FMA latency.
     */
    static boolean k1BeatsK0(float[] x, float[] wt, int n, float d1, float d0) {
        float inv1 = 1f / d1, inv0 = 1f / d0, e1 = 0, e0 = 0;
        for (int j = 0; j < n; j++) {
            float xj = x[j], wj = wt[j];
            float r1 = xj - d1 * Q4Nl.nearestLevel(xj * inv1);
            float r0 = xj - d0 * Q4Nl.nearestLevel(xj * inv0);
            e1 = Math.fma(wj * r1, r1, e1);
            e0 = Math.fma(wj * r0, r0, e0);
        }
        return e1 < e0;
    }

    /** Σ w·(x − d·L(x/d))² with nearest levels for scale d. */
    static float error(float[] x, float[] wt, int n, float d) {
        float inv = 1f / d, e = 0;
        for (int j = 0; j < n; j++) {
            float r = x[j] - d * Q4Nl.nearestLevel(x[j] * inv);
            e = Math.fma(wt[j] * r, r, e);
        }
        return e;
    }

    /**
     * The least-squares scale of the best candidate (0 for an all-zero group).
     *
     * <p>Speed: the six candidates' sums are accumulated in one pass over the group, six pairs of
     * independent FMA chains, so the loop runs at FMA throughput instead of one chain's latency.
     * Each candidate's own sums still see exactly the operations, in exactly the order, of a
     * separate loop per candidate ({@link #searchScaleReference}), and the winner is picked in
     * the same candidate order, so the result is bit-for-bit the same (Q4NlTest checks it).
     */
    static float searchScale(float[] x, float[] wt, int n) {
        float amax = 0;
        for (int j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[j]));
        if (amax == 0) return 0;
        // The candidates d = sign·amax/127·f, as the reference computes them (FACTORS has 3 entries).
        float p0 = 1 * amax / 127f * FACTORS[0], p1 = 1 * amax / 127f * FACTORS[1], p2 = 1 * amax / 127f * FACTORS[2];
        float m0 = -1 * amax / 127f * FACTORS[0], m1 = -1 * amax / 127f * FACTORS[1], m2 = -1 * amax / 127f * FACTORS[2];
        float ip0 = 1f / p0, ip1 = 1f / p1, ip2 = 1f / p2, im0 = 1f / m0, im1 = 1f / m1, im2 = 1f / m2;
        float xp0 = 0, lp0 = 0, xp1 = 0, lp1 = 0, xp2 = 0, lp2 = 0, xm0 = 0, lm0 = 0, xm1 = 0, lm1 = 0, xm2 = 0, lm2 = 0;
        for (int j = 0; j < n; j++) {
            float xj = x[j], wj = wt[j], l, wl;
            l = Q4Nl.nearestLevel(xj * ip0); wl = wj * l; xp0 = Math.fma(wl, xj, xp0); lp0 = Math.fma(wl, l, lp0);
            l = Q4Nl.nearestLevel(xj * ip1); wl = wj * l; xp1 = Math.fma(wl, xj, xp1); lp1 = Math.fma(wl, l, lp1);
            l = Q4Nl.nearestLevel(xj * ip2); wl = wj * l; xp2 = Math.fma(wl, xj, xp2); lp2 = Math.fma(wl, l, lp2);
            l = Q4Nl.nearestLevel(xj * im0); wl = wj * l; xm0 = Math.fma(wl, xj, xm0); lm0 = Math.fma(wl, l, lm0);
            l = Q4Nl.nearestLevel(xj * im1); wl = wj * l; xm1 = Math.fma(wl, xj, xm1); lm1 = Math.fma(wl, l, lm1);
            l = Q4Nl.nearestLevel(xj * im2); wl = wj * l; xm2 = Math.fma(wl, xj, xm2); lm2 = Math.fma(wl, l, lm2);
        }
        // The winner, in the reference's candidate order; "!(sll <= 0)" is its "if (sll <= 0) continue".
        float bestScore = 0, bestD = amax / 127f, score;
        if (!(lp0 <= 0) && (score = xp0 * xp0 / lp0) > bestScore) { bestScore = score; bestD = xp0 / lp0; }
        if (!(lp1 <= 0) && (score = xp1 * xp1 / lp1) > bestScore) { bestScore = score; bestD = xp1 / lp1; }
        if (!(lp2 <= 0) && (score = xp2 * xp2 / lp2) > bestScore) { bestScore = score; bestD = xp2 / lp2; }
        if (!(lm0 <= 0) && (score = xm0 * xm0 / lm0) > bestScore) { bestScore = score; bestD = xm0 / lm0; }
        if (!(lm1 <= 0) && (score = xm1 * xm1 / lm1) > bestScore) { bestScore = score; bestD = xm1 / lm1; }
        if (!(lm2 <= 0) && (score = xm2 * xm2 / lm2) > bestScore) { bestScore = score; bestD = xm2 / lm2; }
        // All error weights zero (e.g. zero importance everywhere): plain amax.
        return bestScore > 0 ? bestD : amax / 127f;
    }

    /** {@link #searchScale} as one loop per candidate: the definition the fast version must match bit for bit. */
    static float searchScaleReference(float[] x, float[] wt, int n) {
        float amax = 0;
        for (int j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[j]));
        if (amax == 0) return 0;
        float bestScore = 0, bestD = amax / 127f;
        for (int sign = 1; sign >= -1; sign -= 2) {
            for (float f : FACTORS) {
                float d = sign * amax / 127f * f;
                float inv = 1f / d;
                float sxl = 0, sll = 0;
                for (int j = 0; j < n; j++) {
                    float l = Q4Nl.nearestLevel(x[j] * inv);
                    float wl = wt[j] * l;
                    sxl = Math.fma(wl, x[j], sxl);
                    sll = Math.fma(wl, l, sll);
                }
                if (sll <= 0) continue;
                float score = sxl * sxl / sll;
                if (score > bestScore) {
                    bestScore = score;
                    bestD = sxl / sll;
                }
            }
        }
        return bestScore > 0 ? bestD : amax / 127f;
    }

    /** Writes the codes of one group for scale d; padding (and an all-zero group) gets the zero code. */
    static void pack(float[] x, int n, float d, byte[] w, int off, int half) {
        float inv = d == 0 ? 0 : 1f / d;
        for (int j = 0; j < half; j++) {
            int lo = j < n && d != 0 ? Q4Nl.nearest(x[j] * inv) : Q4Nl.ZERO_CODE;
            int hi = j + half < n && d != 0 ? Q4Nl.nearest(x[j + half] * inv) : Q4Nl.ZERO_CODE;
            w[off + j] = (byte) (lo | (hi << 4));
        }
    }
}
