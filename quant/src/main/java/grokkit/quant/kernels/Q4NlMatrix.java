package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4Nl;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Vector API kernel for {@code q4nl} ({@link Q4Nl}): out-major rows of ceil(in/G) groups, G/2
 * bytes each (byte j: input j in the low nibble, input j+G/2 in the high nibble), one 16-bit
 * scale per group, {@code w = scale · LEVELS[code]}.
 *
 * <p><b>Integer products (issue 15).</b> The input x∘c is quantized once per product, per
 * group of G inputs, to integers in [-128, 128] with one power-of-two step per group
 * ({@link #quantizeGroup}; llama.cpp quantizes the activations of its Q4_0/Q8_0 dot products
 * the same way, with a step of amax/127). A level (an int8 in [-127, 113]) times an input
 * code fits 16 bits, and so
 * does the sum of two such products; so the decode step per 16 bytes is: split the nibbles
 * ({@code and 0x0F}, a 16-bit {@code >>> 4}), map each code to its level with one 16-entry
 * byte shuffle ({@code selectFrom} on a 128-bit table: {@code pshufb} on x86, {@code tbl} on
 * ARM), widen to 16-bit lanes, multiply by the input codes, add the two nibbles' products
 * (exact), widen to int and add. The group's integer lane sums (exact, so their order is
 * free) convert to float and fold once: {@code a = fma(float(isum), scale·step, a)}. No
 * float conversion per weight: that was most of the former float kernel's time.
 *
 * <p><b>Decode loops for G = 32</b> (the default; docs/KERNELS.md has the measurements). Four
 * rows in flight, page-strided for short rows as int8's ({@link Int8GroupMatrix#rowStride}), the
 * codes of x quantized with the Vector API once per call ({@link #quantizePaired}), scales
 * read per group from a block copy of their bytes. The bytes of a group are permuted so that
 * bytes l and l+8 sit side by side: the two 16-bit pair sums of a 32-bit lane then add up to
 * the int lane of the fixed order with shifts alone (no 16→32-bit conversion of a vector's
 * upper half, which the Vector API compiles to a slow slice). With 512-bit vectors (AVX-512:
 * {@link SegmentMatrix#WIDE}) two rows share each vector ({@link #rows4Wide}), one two-table byte selection
 * putting a group of both rows side by side; else one row per 256-bit vector
 * ({@link #rows4Pairs}). Both give the same bits, and {@code FixedOrder}'s.
 *
 * <p>A ragged last group (in not a multiple of G), other group sizes, and groups whose half is
 * not a multiple of 16 take the general loop ({@link #rowLanes}) or a scalar float path on x∘c.
 */
public final class Q4NlMatrix extends SegmentMatrix {
    /** 16 bytes per load: one full shuffle table's worth of codes. */
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** 16 widened bytes fill 16/L float vectors (L = 8: two). */
    private static final int PARTS = 16 / L;
    private static final ByteVector TABLE = ByteVector.fromArray(B16, Q4Nl.levels(), 0);
    /** 16 levels (or input codes) in 16-bit lanes: their products and pair sums are exact there. */
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    /**
     * Largest input code magnitude: a level (|·| ≤ 127) times a code fits 16 bits, and so does
     * the sum of two such products (2·127·128 = 32512 ≤ 32767).
     */
    private static final int CODE_MAX = 128;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final float[] LEVEL = new float[16];

    /** The levels as the int8 values the integer products use. */
    private static final int[] LEVEL_INT = new int[16];

    static {
        for (int c = 0; c < 16; c++) {
            LEVEL[c] = Q4Nl.level(c);
            LEVEL_INT[c] = Q4Nl.levels()[c];
        }
    }

    private final int group;
    private final int half;
    private final int groups;
    /** Groups with all G inputs present. */
    private final int fullGroups;
    private final long rowBytes;
    /** Group-scale byte → scale (S·±2^(-k/16)), and the channel scales c. */
    private final float[] scaleTable;
    private final float[] channel;
    /** Offset of the group scales in the scales region (after the header). */
    private final long scaleStart;
    /** Scratch for x∘c, one per thread (matvec is called from many threads on one matrix). */
    private final ThreadLocal<float[]> scaled;
    /** Scratch for the input codes and the per-group steps of one product, one per thread. */
    private final ThreadLocal<short[]> codes;
    private final ThreadLocal<float[]> steps;
    /** True when each half-group is whole 16-byte loads and the float shape divides 16 lanes. */
    private final boolean vector;
    /** Input offset within its group of each feature offset w in [0, G) (see {@link #inputFeatures}). */
    private final int[] inputOfFeature;
    /** Byte permutation of a G = 32 group for {@link #rows4Pairs}: bytes l and l+8 side by side. */
    private static final ByteVector PAIR = ByteVector.fromArray(B16, new byte[] {0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15}, 0);
    /** G = 32 with whole groups only: the four-row decode of {@link #rows4Pairs}. */
    private final boolean pairs;
    private final ThreadLocal<Decode> decode;
    /** Whether decode uses {@link #rows4Wide} (AVX-512: {@link SegmentMatrix#WIDE}). */
    private final boolean wide;
    /** Rows a decode pass keeps in flight are this many rows apart (Int8GroupMatrix.rowStride of the row bytes). */
    private final int rowStride;
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q4NlMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        this(spec, weights, scales, in, out, WIDE);
    }

    /** {@code wide}: whether decode uses the 512-bit two-rows-per-vector loop ({@link #rows4Wide}); tests run both. */
    Q4NlMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out, boolean wide) {
        if (spec.encoding() != grokkit.quant.Encoding.Q4NL) throw new IllegalArgumentException("not a q4nl spec: " + spec);
        if (in <= 0 || out <= 0) throw new IllegalArgumentException("q4nl: bad shape in=" + in + " out=" + out);
        spec.checkShape(in, out);
        if (weights.byteSize() < spec.weightBytes(in, out) || scales.byteSize() < spec.scaleBytes(in, out))
            throw new IllegalArgumentException("q4nl [in=" + in + ", out=" + out + "]: regions of " + weights.byteSize()
                    + "/" + scales.byteSize() + " bytes, need " + spec.weightBytes(in, out) + "/" + spec.scaleBytes(in, out));
        super(spec, weights, scales, in, out);
        this.group = spec.groupSize();
        this.half = group / 2;
        this.groups = spec.groupsPerRow(in);
        this.fullGroups = in / group;
        this.rowBytes = (long) groups * half;
        float base = Q4Nl.base(scales);
        if (!Float.isFinite(base) || base <= 0) throw new IllegalArgumentException("q4nl [in=" + in + ", out=" + out + "]: bad base scale " + base);
        this.scaleTable = Q4Nl.groupScaleTable(base);
        this.channel = Q4Nl.channelScales(scales, in);
        this.scaleStart = Q4Nl.headerBytes(in);
        this.scaled = ThreadLocal.withInitial(() -> new float[in]);
        this.codes = ThreadLocal.withInitial(() -> new short[in]);
        this.steps = ThreadLocal.withInitial(() -> new float[groups]);
        this.vector = half % 16 == 0 && 16 % L == 0;
        this.pairs = vector && group == 32;
        this.wide = wide;
        this.rowStride = Int8GroupMatrix.rowStride((int) Math.min(Integer.MAX_VALUE, rowBytes));
        this.decode = ThreadLocal.withInitial(() -> new Decode(in, groups, rowStride));
        this.inputOfFeature = new int[group];
        for (int w = 0; w < group; w++) inputOfFeature[w] = w / 32 * 16 + (w / 16 % 2) * 8 + w % 8 + ((w / 8) % 2 == 1 ? half : 0);
    }


    @Override
    public String toString() {
        return "q4nl(G=" + group + "," + spec.scaleType() + ")[in=" + in + ", out=" + out + "]";
    }

    private float scale(long index) {
        return scaleTable[scales.get(ValueLayout.JAVA_BYTE, scaleStart + index) & 0xff];
    }

    /** x∘c into a per-thread scratch array. */
    private float[] scaleInput(float[] x) {
        float[] xc = scaled.get();
        int i = 0;
        for (int bound = F.loopBound(in); i < bound; i += L)
            FloatVector.fromArray(F, x, i).mul(FloatVector.fromArray(F, channel, i)).intoArray(xc, i);
        for (; i < in; i++) xc[i] = x[i] * channel[i];
        return xc;
    }

    /**
     * Quantizes inputs [i0, i0 + n) of x∘c (one group) to integer codes in [-128, 128] with a
     * power-of-two step, the smallest with {@code 128·step ≥ amax}; returns the step.
     * {@code code = round(x∘c / step)}. Why a power of two: multiplying by it is exact, so
     * {@code fma(isum, scale·step, a)} (decode: an exact integer sum, one fold factor) and
     * {@code fma(Σ level·(code·step), scale, a)} (prefill's generic float tiles, features
     * {@code code·step}) are the same operation bit for bit, and prefill needs no per-token
     * fold factors. It costs at most one bit of the codes' range (amax/step is in (64, 128]).
     * A zero group, or one whose step would be below 2^-60, has step 0 and codes 0; a NaN or
     * infinite input (or amax ≥ 2^60) makes the step NaN, so the outputs it touches are NaN
     * (nothing is silently dropped). Plain scalar Java: it runs once per group and product and
     * gives the same codes in every JIT tier.
     */
    static float quantizeGroup(float[] xc, int i0, int n, short[] dst, int d0) {
        float amax = 0f;
        for (int i = 0; i < n; i++) amax = Math.max(amax, Math.abs(xc[i0 + i]));
        float step = stepFor(amax);
        float inv = step > 0f ? 1f / step : 0f; // exact: a power of two
        for (int i = 0; i < n; i++) {
            int q = Math.round(xc[i0 + i] * inv);
            dst[d0 + i] = (short) Math.max(-CODE_MAX, Math.min(CODE_MAX, q));
        }
        return step;
    }

    /**
     * The step of a group whose largest |x∘c| is amax: the smallest power of two with
     * {@code 128·step ≥ amax}; 0 for a zero group or one below 2^-60·128; NaN when amax is NaN,
     * infinite or at least 2^60 (see {@link #quantizeGroup}).
     */
    static float stepFor(float amax) {
        int e = Math.getExponent(amax) - (amax == Math.scalb(1f, Math.getExponent(amax)) ? 7 : 6);
        return !(amax < 0x1p60f) ? Float.NaN : amax == 0f || e < -60 ? 0f : Math.scalb(1f, e);
    }

    /** x∘c of the vector groups as codes (in input order) into {@code q}, their steps into {@code step}. */
    private void quantizeInput(float[] xc, short[] q, float[] step) {
        for (int g = 0, n = vectorFeatures() / group; g < n; g++) step[g] = quantizeGroup(xc, g * group, group, q, g * group);
    }

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        if (x.length < in) throw new IllegalArgumentException("x has " + x.length + " elements, need in=" + in + " for " + this);
        if (y.length < to) throw new IllegalArgumentException("y has " + y.length + " elements, need at least " + to + " for " + this);
        if (from == to) return;
        int n = vectorFeatures() / group;
        int o = from;
        if (pairs && n == groups) {
            Decode d = decode.get();
            boolean wide = wideFor();
            quantizePaired(x, d.codes, d.steps, wide);
            decodeRows(d.codes, d.steps, wide, y, from, to);
            return;
        }
        float[] xc = scaleInput(x);
        short[] q = codes.get();
        float[] step = steps.get();
        quantizeInput(xc, q, step);
        float[] k = new float[n];
        for (; o < to; o++) {
            foldScales(o, step, k, 0, n);
            y[o] = finish(o, rowLanes(q, k, o, n), null, xc);
        }
    }

    /** Whether {@link #rows4Wide} applies: AVX-512 (or a test's choice) and an even number of groups. */
    private boolean wideFor() {
        return wide && groups % 2 == 0;
    }

    /**
     * Rows [from, to) of the G = 32 decode from x's codes and steps ({@link #quantizePaired}):
     * four rows in flight, page-strided for short rows as int8's ({@link Int8GroupMatrix#rowStride}),
     * the scale bytes of each block of 4s contiguous rows in one copy; the rows of a last
     * partial block one by one ({@link #rowLanes}, the same lanes).
     */
    private void decodeRows(short[] codes, float[] steps, boolean wide, float[] y, int from, int to) {
        byte[] sb = decode.get().scaleBytes;
        int n = groups, o = from;
        for (int s = rowStride; s >= 1; s >>= 1) {
            for (; o + 4 * s <= to; o += 4 * s) {
                MemorySegment.copy(scales, ValueLayout.JAVA_BYTE, scaleStart + (long) o * groups, sb, 0, 4 * s * n);
                for (int p = 0; p < s; p++) {
                    if (wide) rows4Wide(codes, steps, sb, p * n, o + p, s, n, y);
                    else rows4Pairs(codes, steps, sb, p * n, o + p, s, n, y);
                }
            }
        }
        for (; o < to; o++) y[o] = rowPaired(codes, steps, wide, o);
    }

    /**
     * One row from paired (or duplicated) codes: {@link #rows4Pairs}'s operations for one row,
     * written with scalar integer sums per lane (exact, so the same lanes), then the same fold.
     */
    private float rowPaired(short[] codes, float[] steps, boolean wide, int o) {
        long r = o * rowBytes;
        float[] a = new float[L];
        for (int g = 0; g < groups; g++) {
            int c0 = wide ? 64 * g : 32 * g, hiOff = wide ? 32 : 16;
            float k = scale((long) o * groups + g);
            for (int l = 0; l < L; l++) {
                int lo0 = weights.get(ValueLayout.JAVA_BYTE, r + 16L * g + l) & 0xff, lo8 = weights.get(ValueLayout.JAVA_BYTE, r + 16L * g + l + 8) & 0xff;
                int isum = LEVEL_INT[lo0 & 15] * codes[c0 + 2 * l] + LEVEL_INT[lo8 & 15] * codes[c0 + 2 * l + 1]
                        + LEVEL_INT[lo0 >>> 4] * codes[c0 + hiOff + 2 * l] + LEVEL_INT[lo8 >>> 4] * codes[c0 + hiOff + 2 * l + 1];
                a[l] = Math.fma((float) isum * steps[g], k, a[l]);
            }
        }
        return tree(a, 0);
    }

    /** Decode's prepared input of one token: x's codes (paired, or duplicated for the wide loop) and the group steps. */
    private record DecodeInputs(Q4NlMatrix owner, short[] codes, float[] steps, boolean wide) implements PreparedInputs {}

    /** For one token and the G = 32 decode: x quantized once per product, shared by all row ranges. */
    @Override
    public PreparedInputs prepareInputs(float[][] x) {
        if (x.length != 1 || !pairs || vectorFeatures() != groups * group) return super.prepareInputs(x);
        if (x[0].length < in) throw new IllegalArgumentException("x has " + x[0].length + " elements, need in=" + in + " for " + this);
        boolean w = wideFor();
        short[] codes = new short[w ? 2 * in : in];
        float[] steps = new float[groups];
        quantizePaired(x[0], codes, steps, w);
        return new DecodeInputs(this, codes, steps, w);
    }

    @Override
    public void matmul(float[][] x, PreparedInputs inputs, float[][] y, int from, int to) {
        if (!(inputs instanceof DecodeInputs d)) {
            super.matmul(x, inputs, y, from, to);
            return;
        }
        if (d.owner != this || x.length != 1)
            throw new IllegalArgumentException("inputs were not prepared by this matrix for these " + x.length + " tokens: " + this);
        if (y.length < 1) throw new IllegalArgumentException("y has no rows, x has 1");
        checkMatvec(x[0], y[0], from, to);
        if (from < to) decodeRows(d.codes, d.steps, d.wide, y[0], from, to);
    }

    /** Per-thread scratch of the G = 32 decode: paired input codes, group steps, a row block's scale bytes. */
    private static final class Decode {
        final short[] codes;
        final float[] steps;
        final byte[] scaleBytes;

        Decode(int in, int groups, int rowStride) {
            codes = new short[2 * in];
            steps = new float[groups];
            scaleBytes = new byte[4 * rowStride * groups];
        }
    }

    /**
     * {@link #quantizeGroup} of every G = 32 group of x∘c, with the Vector API, writing the codes
     * in the paired order of {@link #rows4Pairs}: for l in [0, 8), positions 2l and 2l+1 of a
     * group hold the codes of inputs l and l+8, positions 16+2l and 17+2l those of inputs l+16
     * and l+24. The same codes and steps as the scalar {@link #quantizeGroup} (which prefill and
     * the tests use), by construction: x∘c is one rounded product either way, amax a maximum
     * (order-free), {@code v = x∘c / step} exact (a power of two), and the rounding is
     * {@code Math.round}'s ({@link #roundCodes}). NaN and infinite
     * inputs: the step is NaN and the scale 1/step is 0, so NaN·0 = NaN converts to 0, as
     * {@code Math.round(NaN)} is 0. {@code Q4NlMatrixTest} holds the two to the same codes.
     */
    void quantizePaired(float[] x, short[] qp, float[] step, boolean wide) {
        for (int g = 0, i0 = 0; g < groups; g++, i0 += 32) {
            FloatVector a = FloatVector.fromArray(F, x, i0).mul(FloatVector.fromArray(F, channel, i0));
            FloatVector b = FloatVector.fromArray(F, x, i0 + 8).mul(FloatVector.fromArray(F, channel, i0 + 8));
            FloatVector c = FloatVector.fromArray(F, x, i0 + 16).mul(FloatVector.fromArray(F, channel, i0 + 16));
            FloatVector d = FloatVector.fromArray(F, x, i0 + 24).mul(FloatVector.fromArray(F, channel, i0 + 24));
            FloatVector m = a.abs().max(b.abs()).max(c.abs().max(d.abs()));
            // Math.max semantics per lane: a NaN anywhere makes amax NaN, as in the scalar loop.
            float st = stepFor(maxLanes(m));
            float inv = st > 0f ? 1f / st : 0f;
            step[g] = st;
            ShortVector lo = pairCodes(roundCodes(a, inv), roundCodes(b, inv)), hi = pairCodes(roundCodes(c, inv), roundCodes(d, inv));
            if (wide) { // each half twice, for the two rows of a 512-bit vector (rows4Wide)
                lo.intoArray(qp, 2 * i0);
                lo.intoArray(qp, 2 * i0 + 16);
                hi.intoArray(qp, 2 * i0 + 32);
                hi.intoArray(qp, 2 * i0 + 48);
            } else {
                lo.intoArray(qp, i0);
                hi.intoArray(qp, i0 + 16);
            }
        }
    }

    /** Largest lane (NaN if any lane is NaN), by a fixed sequence of Math.max: the same result as the scalar loop. */
    private static float maxLanes(FloatVector m) {
        float r = m.lane(0);
        for (int l = 1; l < 8; l++) r = Math.max(r, m.lane(l));
        return r;
    }

    /**
     * {@code clamp(Math.round(v·inv), ±128)} lane-wise. {@code Math.round(u)} is
     * {@code floor(u + 1/2)}, but {@code u + 1/2} itself can round (u = 0.49999997 gives 1), so:
     * truncate, take the fraction {@code u − trunc(u)} (exact below 2^23), and step up where it
     * is at least 1/2, down where it is below −1/2. u is first clamped to ±129, so the integer
     * never overflows; NaN converts to 0 and compares false, as {@code Math.round(NaN)} is 0.
     */
    static IntVector roundCodes(FloatVector v, float inv) {
        FloatVector u = v.mul(inv).max(-129f).min(129f);
        IntVector t = (IntVector) u.convert(VectorOperators.F2I, 0);
        FloatVector frac = u.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
        t = t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(I)).sub(1, frac.compare(VectorOperators.LT, -0.5f).cast(I));
        return t.max(-CODE_MAX).min(CODE_MAX);
    }

    /** Lanes l of lo and hi side by side as 16-bit values: lo in the low half of each int (little-endian). */
    private static ShortVector pairCodes(IntVector lo, IntVector hi) {
        return hi.lanewise(VectorOperators.LSHL, 16).or(lo.and(0xFFFF)).reinterpretAsShorts();
    }

    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F16 = FloatVector.SPECIES_512;
    /** The 16 levels twice: a 32-lane byte lookup table whose two halves agree. */
    private static final ByteVector TABLE2;
    /**
     * Two-vector byte selections for {@link #rows4Wide}: from the 32 bytes of groups g, g+1 of
     * row r (indexes 0..31) and of row r' (32..63), group g of r in {@link #PAIR} order, then
     * group g of r'; and the same for group g+1.
     */
    private static final ByteVector TWO_ROWS_FIRST, TWO_ROWS_SECOND;
    /** Lanes 8..15 of a 16-lane float vector: the second row's. */
    private static final jdk.incubator.vector.VectorMask<Float> SECOND_ROW;

    static {
        byte[] t = new byte[32], first = new byte[32], second = new byte[32];
        byte[] levels = Q4Nl.levels();
        int[] pair = {0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15};
        for (int i = 0; i < 32; i++) {
            t[i] = levels[i % 16];
            int fromSecondRow = i < 16 ? 0 : 32;
            first[i] = (byte) (fromSecondRow + pair[i % 16]);
            second[i] = (byte) (fromSecondRow + 16 + pair[i % 16]);
        }
        TABLE2 = ByteVector.fromArray(B32, t, 0);
        TWO_ROWS_FIRST = ByteVector.fromArray(B32, first, 0);
        TWO_ROWS_SECOND = ByteVector.fromArray(B32, second, 0);
        boolean[] m = new boolean[16];
        for (int l = 8; l < 16; l++) m[l] = true;
        SECOND_ROW = jdk.incubator.vector.VectorMask.fromArray(F16, m, 0);
    }

    /**
     * {@link #rows4Pairs} with 512-bit integer vectors, two rows per vector: rows (o, o+s) and
     * (o+2s, o+3s), two groups per step. One two-vector byte selection puts a group of both rows
     * side by side in {@link #PAIR} order; the nibbles, levels, 16-bit products and pair sums
     * then run on both rows at once, lanes 0..7 being the first row's int lanes and 8..15 the
     * second's, exactly the lanes of {@link #rows4Pairs}. The fold multiplies by the group's
     * step and adds {@code lanes · scale} into a 16-lane accumulator with each row's scale in
     * its half: per row, the same float operations in the same order, so the same bits.
     * Input codes come duplicated per group ({@code qp[64g ..]}: the low-nibble codes twice,
     * then the high-nibble codes twice).
     */
    private void rows4Wide(short[] qp, float[] step, byte[] sb, int sb0, int o, int s, int n, float[] y) {
        float[] table = scaleTable;
        long stride = (long) s * rowBytes;
        MemorySegment w0 = weights.asSlice(o * rowBytes, rowBytes), w1 = weights.asSlice(o * rowBytes + stride, rowBytes);
        MemorySegment w2 = weights.asSlice(o * rowBytes + 2 * stride, rowBytes), w3 = weights.asSlice(o * rowBytes + 3 * stride, rowBytes);
        FloatVector a01 = FloatVector.zero(F16), a23 = a01;
        int k0 = sb0, k1 = sb0 + s * n, k2 = sb0 + 2 * s * n, k3 = sb0 + 3 * s * n;
        for (int g = 0; g < n; g += 2) {
            long b = (long) g * 16;
            ByteVector r0 = ByteVector.fromMemorySegment(B32, w0, b, LE), r1 = ByteVector.fromMemorySegment(B32, w1, b, LE);
            ByteVector r2 = ByteVector.fromMemorySegment(B32, w2, b, LE), r3 = ByteVector.fromMemorySegment(B32, w3, b, LE);
            // Written out per row pair and group, as in rows4Pairs (C2 pitfall 7).
            int g0 = g + 0;
            ShortVector qa0 = ShortVector.fromArray(S32, qp, 64 * g0), qb0 = ShortVector.fromArray(S32, qp, 64 * g0 + 32);
            FloatVector st0 = FloatVector.broadcast(F16, step[g0]);
            ByteVector x010 = TWO_ROWS_FIRST.selectFrom(r0, r1);
            ShortVector p010 = ((ShortVector) x010.and((byte) 0x0F).selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qa0)
                    .add(((ShortVector) x010.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qb0));
            IntVector v010 = p010.reinterpretAsInts();
            FloatVector kv00 = FloatVector.broadcast(F16, table[sb[k0 + g0] & 0xff]).blend(table[sb[k1 + g0] & 0xff], SECOND_ROW);
            a01 = ((FloatVector) v010.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v010.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st0).fma(kv00, a01);
            ByteVector x230 = TWO_ROWS_FIRST.selectFrom(r2, r3);
            ShortVector p230 = ((ShortVector) x230.and((byte) 0x0F).selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qa0)
                    .add(((ShortVector) x230.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qb0));
            IntVector v230 = p230.reinterpretAsInts();
            FloatVector kv20 = FloatVector.broadcast(F16, table[sb[k2 + g0] & 0xff]).blend(table[sb[k3 + g0] & 0xff], SECOND_ROW);
            a23 = ((FloatVector) v230.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v230.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st0).fma(kv20, a23);
            int g1 = g + 1;
            ShortVector qa1 = ShortVector.fromArray(S32, qp, 64 * g1), qb1 = ShortVector.fromArray(S32, qp, 64 * g1 + 32);
            FloatVector st1 = FloatVector.broadcast(F16, step[g1]);
            ByteVector x011 = TWO_ROWS_SECOND.selectFrom(r0, r1);
            ShortVector p011 = ((ShortVector) x011.and((byte) 0x0F).selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qa1)
                    .add(((ShortVector) x011.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qb1));
            IntVector v011 = p011.reinterpretAsInts();
            FloatVector kv01b = FloatVector.broadcast(F16, table[sb[k0 + g1] & 0xff]).blend(table[sb[k1 + g1] & 0xff], SECOND_ROW);
            a01 = ((FloatVector) v011.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v011.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st1).fma(kv01b, a01);
            ByteVector x231 = TWO_ROWS_SECOND.selectFrom(r2, r3);
            ShortVector p231 = ((ShortVector) x231.and((byte) 0x0F).selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qa1)
                    .add(((ShortVector) x231.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE2).convertShape(VectorOperators.B2S, S32, 0)).mul(qb1));
            IntVector v231 = p231.reinterpretAsInts();
            FloatVector kv21 = FloatVector.broadcast(F16, table[sb[k2 + g1] & 0xff]).blend(table[sb[k3 + g1] & 0xff], SECOND_ROW);
            a23 = ((FloatVector) v231.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v231.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st1).fma(kv21, a23);
        }
        float[] lanes = new float[16];
        a01.intoArray(lanes, 0);
        y[o] = tree(lanes, 0);
        y[o + s] = tree(lanes, 8);
        a23.intoArray(lanes, 0);
        y[o + 2 * s] = tree(lanes, 0);
        y[o + 3 * s] = tree(lanes, 8);
    }

    /**
     * Rows o, o+s, o+2s, o+3s for G = 32 (16 bytes a group), the integer lanes of
     * {@link #rowLanes} computed without splitting a 16-bit vector in halves: the group's bytes
     * are first permuted so that bytes l and l+8 sit side by side ({@link #PAIR}); the 16-bit
     * products of a byte pair then share one 32-bit lane, and their exact sum is
     * {@code (v << 16 >> 16) + (v >> 16)}: int lane l sums inputs l, l+8, l+16, l+24, the
     * lane of the fixed order. The x codes, already in that order ({@link #quantizePaired}), are
     * loaded once for the four rows.
     */
    private void rows4Pairs(short[] qp, float[] step, byte[] sb, int sb0, int o, int s, int n, float[] y) {
        float[] table = scaleTable;
        long stride = (long) s * rowBytes;
        MemorySegment w0 = weights.asSlice(o * rowBytes, rowBytes), w1 = weights.asSlice(o * rowBytes + stride, rowBytes);
        MemorySegment w2 = weights.asSlice(o * rowBytes + 2 * stride, rowBytes), w3 = weights.asSlice(o * rowBytes + 3 * stride, rowBytes);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int k0 = sb0, k1 = sb0 + s * n, k2 = sb0 + 2 * s * n, k3 = sb0 + 3 * s * n;
        for (int g = 0; g < n; g++) {
            int i0 = g * 32;
            long b = (long) g * 16;
            ShortVector qa = ShortVector.fromArray(S16, qp, i0), qb = ShortVector.fromArray(S16, qp, i0 + 16);
            FloatVector st = FloatVector.broadcast(F, step[g]);
            // The same steps for each row, written out: as a helper method returning a vector it
            // was C2-compiled on its own and every vector crossing the call boxed (5.6 vs 9.5
            // Gweights/s; docs/KERNELS.md, C2 pitfall 7).
            ByteVector b0 = PAIR.selectFrom(ByteVector.fromMemorySegment(B16, w0, b, LE));
            ShortVector p0 = ((ShortVector) b0.and((byte) 0x0F).selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qa)
                    .add(((ShortVector) b0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qb));
            IntVector v0 = p0.reinterpretAsInts();
            a0 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v0.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st).fma(FloatVector.broadcast(F, table[sb[k0 + g] & 0xff]), a0);
            ByteVector b1 = PAIR.selectFrom(ByteVector.fromMemorySegment(B16, w1, b, LE));
            ShortVector p1 = ((ShortVector) b1.and((byte) 0x0F).selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qa)
                    .add(((ShortVector) b1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qb));
            IntVector v1 = p1.reinterpretAsInts();
            a1 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v1.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st).fma(FloatVector.broadcast(F, table[sb[k1 + g] & 0xff]), a1);
            ByteVector b2 = PAIR.selectFrom(ByteVector.fromMemorySegment(B16, w2, b, LE));
            ShortVector p2 = ((ShortVector) b2.and((byte) 0x0F).selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qa)
                    .add(((ShortVector) b2.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qb));
            IntVector v2 = p2.reinterpretAsInts();
            a2 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v2.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st).fma(FloatVector.broadcast(F, table[sb[k2 + g] & 0xff]), a2);
            ByteVector b3 = PAIR.selectFrom(ByteVector.fromMemorySegment(B16, w3, b, LE));
            ShortVector p3 = ((ShortVector) b3.and((byte) 0x0F).selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qa)
                    .add(((ShortVector) b3.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .selectFrom(TABLE).convertShape(VectorOperators.B2S, S16, 0)).mul(qb));
            IntVector v3 = p3.reinterpretAsInts();
            a3 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v3.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).mul(st).fma(FloatVector.broadcast(F, table[sb[k3 + g] & 0xff]), a3);
        }
        y[o] = tree(a0); y[o + s] = tree(a1); y[o + 2 * s] = tree(a2); y[o + 3 * s] = tree(a3);
    }

    /** {@code k[off + g] = groupScale(o, g) · step[g]}, the fold factor of each vector group of row o (exact: step is a power of two). */
    private void foldScales(int o, float[] step, float[] k, int off, int n) {
        groupScales(o, 0, n, k, off);
        for (int g = 0; g < n; g++) k[off + g] *= step[g];
    }

    /**
     * One row's vector groups, as the fixed lane tree of the folded lanes: per 16 bytes of a
     * group, both nibbles' levels by byte shuffle, widened to 16-bit lanes and multiplied by the
     * input codes; lane j of the pair sum is {@code lo_j·q[j] + hi_j·q[j+G/2]} (|·| ≤ 2·127·128,
     * exact in 16 bits), widened to 8 int lanes (lane l gets pair lanes l and l+8). Per group
     * one conversion and one fold with {@code k[g]}. Kept free of scalar work (scales, tails):
     * C2 must inline every vector operation here (docs/KERNELS.md, "C2 pitfalls").
     */
    private float rowLanes(short[] q, float[] k, int o, int n) {
        long r = o * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        for (int g = 0; g < n; g++) {
            int i0 = g * group;
            long b = r + (long) g * half;
            IntVector s = IntVector.zero(I);
            for (int j = 0; j < half; j += 16) {
                ByteVector bytes = ByteVector.fromMemorySegment(B16, weights, b + j, LE);
                ByteVector lo = bytes.and((byte) 0x0F).selectFrom(TABLE);
                // x86 has no byte shift: shift 16-bit lanes and mask (the same codes).
                ByteVector hi = bytes.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                        .and((byte) 0x0F).selectFrom(TABLE);
                ShortVector wl = (ShortVector) lo.convertShape(VectorOperators.B2S, S16, 0);
                ShortVector wh = (ShortVector) hi.convertShape(VectorOperators.B2S, S16, 0);
                ShortVector p = wl.mul(ShortVector.fromArray(S16, q, i0 + j)).add(wh.mul(ShortVector.fromArray(S16, q, i0 + half + j)));
                s = s.add((IntVector) p.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) p.convertShape(VectorOperators.S2I, I, 1));
            }
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, k[g]), acc);
        }
        return tree(acc);
    }

    // Features (x' = code·step of x∘c, group by group): per 16 bytes j of a full group,
    // 8 × (level lo, x'[j..]), 8 × (level hi, x'[j+G/2..]), then the same for bytes j+8..j+15;
    // lane l thus sums inputs l, l+8, l+16, ... of the group, as the decode's int lanes do.
    // Ragged or odd-sized groups are in finish (float x∘c).
    @Override int vectorFeatures() { return vector ? fullGroups * group : 0; }
    @Override int featureGroup() { return group; }
    @Override boolean featuresAreInputs() { return false; }

    /**
     * The dequantized input codes {@code code·step} (exact: a small integer times a power of
     * two) in feature order: per 16 bytes j of a full group, the codes of inputs j..j+7, then
     * j+G/2.., then j+8.., then j+G/2+8.. (the layout comment above). Every partial sum of the
     * fixed-order chain over them is exact too, so prefill's float tiles compute the decode's
     * integer sums (times the step). f0 and f1 are multiples of G.
     */
    @Override
    void inputFeatures(float[] x, int f0, int f1, float[] dst, int off) {
        if (group == 32) {
            // quantizePaired's lane-wise codes (the same as quantizeGroup's), times the step,
            // stored in feature order: inputs 0..7, 16..23, 8..15, 24..31 of each group.
            for (int f = f0, d = off; f < f1; f += 32, d += 32) {
                FloatVector a = FloatVector.fromArray(F, x, f).mul(FloatVector.fromArray(F, channel, f));
                FloatVector b = FloatVector.fromArray(F, x, f + 8).mul(FloatVector.fromArray(F, channel, f + 8));
                FloatVector c = FloatVector.fromArray(F, x, f + 16).mul(FloatVector.fromArray(F, channel, f + 16));
                FloatVector e = FloatVector.fromArray(F, x, f + 24).mul(FloatVector.fromArray(F, channel, f + 24));
                float st = stepFor(maxLanes(a.abs().max(b.abs()).max(c.abs().max(e.abs()))));
                float inv = st > 0f ? 1f / st : 0f;
                ((FloatVector) roundCodes(a, inv).convert(VectorOperators.I2F, 0)).mul(st).intoArray(dst, d);
                ((FloatVector) roundCodes(c, inv).convert(VectorOperators.I2F, 0)).mul(st).intoArray(dst, d + 8);
                ((FloatVector) roundCodes(b, inv).convert(VectorOperators.I2F, 0)).mul(st).intoArray(dst, d + 16);
                ((FloatVector) roundCodes(e, inv).convert(VectorOperators.I2F, 0)).mul(st).intoArray(dst, d + 24);
            }
            return;
        }
        float[] xc = new float[group];
        int[] of = inputOfFeature;
        for (int f = f0, d = off; f < f1; f += group, d += group) {
            int base = f / group * group;
            float amax = 0f;
            for (int k = 0; k < group; k++) {
                float v = x[base + k] * channel[base + k];
                xc[k] = v;
                amax = Math.max(amax, Math.abs(v));
            }
            // quantizeGroup's step and codes, in one pass into feature order (tests hold prefill
            // to the decode, which quantizes with quantizeGroup, bit for bit).
            float step = stepFor(amax);
            float inv = step > 0f ? 1f / step : 0f; // exact: a power of two
            for (int w = 0; w < group; w++) {
                // Math.round(v) for |v| <= 2^24: floor(v + 1/2) is exact in double.
                int q = (int) Math.floor((double) (xc[of[w]] * inv) + 0.5);
                dst[d + w] = Math.max(-CODE_MAX, Math.min(CODE_MAX, q)) * step;
            }
        }
    }

    /** The 16 levels as float bits, codes 0-7 and 8-15: one two-table int permute (vpermi2d) per 8 weights. */
    private static final IntVector LEVEL_BITS_LO, LEVEL_BITS_HI;

    static {
        int[] bits = new int[16];
        for (int c = 0; c < 16; c++) bits[c] = Float.floatToRawIntBits(Q4Nl.level(c));
        LEVEL_BITS_LO = IntVector.fromArray(IntVector.SPECIES_256, bits, 0);
        LEVEL_BITS_HI = IntVector.fromArray(IntVector.SPECIES_256, bits, 8);
    }

    /**
     * Levels straight as float bits: per 8 bytes, zero-extend to 8 int lanes, the low and high
     * nibbles pick their levels with a two-table permute (vpermi2d on AVX-512), no int→float
     * conversion (AVX-512 only; AVX2 keeps the byte shuffle). One core, q4nl 2048x8192 T=16: 47-48 → 49-50 GFLOP/s (was: byte shuffle,
     * widen, convert).
     */
    @Override
    void featureWeights(int o, int f0, int f1, float[] dst, int off) {
        // f0, f1 are multiples of G, itself a multiple of 32; the 16 bytes of features f..f+31
        // start at byte f/2 of the row (g·G/2 + w/2 with f = g·G + w), so no division by G.
        long r = o * rowBytes;
        for (int f = f0; f < f1; f += 32) {
            ByteVector q = ByteVector.fromMemorySegment(B16, weights, r + (f >>> 1), LE);
            int d = off + f - f0;
            if (WIDE) {
                for (int p = 0; p < PARTS; p++) {
                    IntVector c = (IntVector) q.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                    c.and(15).selectFrom(LEVEL_BITS_LO, LEVEL_BITS_HI).reinterpretAsFloats().intoArray(dst, d + 2 * p * L);
                    c.lanewise(VectorOperators.LSHR, 4).selectFrom(LEVEL_BITS_LO, LEVEL_BITS_HI).reinterpretAsFloats().intoArray(dst, d + (2 * p + 1) * L);
                }
                continue;
            }
            // AVX2 has no two-table permute: byte shuffle of the int8 levels, widen, convert.
            ByteVector lo = q.and((byte) 0x0F).selectFrom(TABLE);
            ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(TABLE);
            for (int p = 0; p < PARTS; p++) {
                ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).intoArray(dst, d + 2 * p * L);
                ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).intoArray(dst, d + (2 * p + 1) * L);
            }
        }
    }

    /**
     * The scale bytes eight at a time (one 64-bit read each), then table lookups: a prefill tile
     * asks for every row's scales per chunk, so per-call overhead matters here (a segment read
     * per byte, and a small {@code MemorySegment.copy} to a heap array, each cost a large share
     * of a q4nl prefill).
     */
    @Override
    void groupScales(int o, int g0, int g1, float[] dst, int off) {
        long b = scaleStart + (long) o * groups + g0;
        int n = g1 - g0, i = 0;
        for (; i + 8 <= n; i += 8) {
            long v = scales.get(LE_LONG, b + i);
            for (int k = 0; k < 8; k++) dst[off + i + k] = scaleTable[(int) (v >>> (8 * k)) & 0xff];
        }
        for (; i < n; i++) dst[off + i] = scaleTable[scales.get(ValueLayout.JAVA_BYTE, b + i) & 0xff];
    }

    /** x∘c, which {@link #finish} needs when some groups are scalar. */
    @Override
    float[] prepare(float[] x) {
        return vectorFeatures() == groups * group ? null : scaleInput(x).clone();
    }

    /** The groups past the vector ones (a ragged last group, or all when G/2 is not a multiple of 16): Σ scale·(Σ level·x∘c). */
    @Override
    float finish(int o, float lanes, float[] x, float[] xc) {
        long r = o * rowBytes, c = (long) o * groups;
        float t = 0;
        for (int g = vectorFeatures() / group; g < groups; g++) t += scale(c + g) * groupDotScalar(xc, r + (long) g * half, g * group);
        return lanes + t;
    }

    /** Σ level·x over one group's present inputs (unscaled). */
    private float groupDotScalar(float[] x, long b, int i0) {
        float s = 0;
        int n = Math.min(group, in - i0);
        for (int j = 0; j < half; j++) {
            int v = weights.get(ValueLayout.JAVA_BYTE, b + j) & 0xff;
            if (j < n) s += LEVEL[v & 15] * x[i0 + j];
            if (j + half < n) s += LEVEL[v >>> 4] * x[i0 + half + j];
        }
        return s;
    }

    /** Prefill tiles (see {@link SegmentMatrix#matmul}) start at group boundaries. */
    @Override int chunkAlignment() { return group; }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        Objects.checkIndex(o, out);
        if (dst.length < in) throw new IllegalArgumentException("dst has " + dst.length + " elements, need " + in);
        dequantizeRange(o, 0, in, dst, 0);
    }

    /**
     * Weights {@code c[k]·scale·LEVELS[code]} of row o for k in [k0, k1), k0 a multiple of G,
     * into dst[off ..). Plain scalar Java on purpose: its caller, the embedding lookup, runs once
     * per token, too rarely for C2, and interpreted Vector API code took ~1.5 ms a row
     * (docs/KERNELS.md, C2 pitfall 5); scalar code is compiled by C1 within a few rows.
     */
    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = o * rowBytes, c = (long) o * groups;
        int g = k0 / group, gEnd = (k1 + group - 1) / group, d = off - k0;
        int end = Math.min(k1, in);
        for (; g < gEnd; g++) {
            float s = scale(c + g);
            long b = r + (long) g * half;
            int i0 = g * group, n = Math.min(group, end - i0);
            for (int j = 0; j < half; j++) {
                int v = weights.get(ValueLayout.JAVA_BYTE, b + j) & 0xff;
                if (j < n) dst[d + i0 + j] = channel[i0 + j] * (s * LEVEL[v & 15]);
                if (j + half < n) dst[d + i0 + half + j] = channel[i0 + half + j] * (s * LEVEL[v >>> 4]);
            }
        }
    }
}
