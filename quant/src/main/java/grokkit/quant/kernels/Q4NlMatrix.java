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
 * <p>A ragged last group (in not a multiple of G) and group sizes whose half is not a
 * multiple of 16 take a scalar float path on x∘c, as before.
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

    static {
        for (int c = 0; c < 16; c++) LEVEL[c] = Q4Nl.level(c);
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
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q4NlMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
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
        int e = Math.getExponent(amax) - (amax == Math.scalb(1f, Math.getExponent(amax)) ? 7 : 6);
        float step = !(amax < 0x1p60f) ? Float.NaN : amax == 0f || e < -60 ? 0f : Math.scalb(1f, e);
        float inv = step > 0f ? Math.scalb(1f, -e) : 0f;
        for (int i = 0; i < n; i++) {
            int q = Math.round(xc[i0 + i] * inv);
            dst[d0 + i] = (short) Math.max(-CODE_MAX, Math.min(CODE_MAX, q));
        }
        return step;
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
        float[] xc = scaleInput(x);
        short[] q = codes.get();
        float[] step = steps.get();
        quantizeInput(xc, q, step);
        int n = vectorFeatures() / group;
        float[] k = new float[n];
        for (int o = from; o < to; o++) {
            foldScales(o, step, k, n);
            y[o] = finish(o, rowLanes(q, k, o, n), null, xc);
        }
    }

    /** {@code k[g] = groupScale(o, g) · step[g]}, the fold factor of each vector group of row o (exact: step is a power of two). */
    private void foldScales(int o, float[] step, float[] k, int n) {
        groupScales(o, 0, n, k, 0);
        for (int g = 0; g < n; g++) k[g] *= step[g];
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
            int e = Math.getExponent(amax) - (amax == Math.scalb(1f, Math.getExponent(amax)) ? 7 : 6);
            float step = !(amax < 0x1p60f) ? Float.NaN : amax == 0f || e < -60 ? 0f : Math.scalb(1f, e);
            float inv = step > 0f ? Math.scalb(1f, -e) : 0f;
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

    /** Weights {@code c[k]·scale·LEVELS[code]} of row o for k in [k0, k1), k0 a multiple of G, into dst[off ..). */
    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = o * rowBytes, c = (long) o * groups;
        int g = k0 / group, gEnd = (k1 + group - 1) / group, d = off - k0;
        if (vector) {
            for (; g < gEnd && g < fullGroups && (g + 1) * group <= k1; g++) {
                FloatVector sv = FloatVector.broadcast(F, scale(c + g));
                long b = r + (long) g * half;
                int i0 = g * group;
                for (int j = 0; j < half; j += 16) {
                    ByteVector q = ByteVector.fromMemorySegment(B16, weights, b + j, LE);
                    ByteVector lo = q.and((byte) 0x0F).selectFrom(TABLE);
                    ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(TABLE);
                    for (int p = 0; p < PARTS; p++) {
                        int il = i0 + j + p * L, ih = il + half;
                        ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).mul(sv).mul(FloatVector.fromArray(F, channel, il)).intoArray(dst, d + il);
                        ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).mul(sv).mul(FloatVector.fromArray(F, channel, ih)).intoArray(dst, d + ih);
                    }
                }
            }
        }
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
