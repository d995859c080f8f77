package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4Nl;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
 * <p>The decode step per 16 bytes: split the nibbles ({@code and 0x0F}, {@code >>> 4}), map
 * each code to its int8 level with one 16-entry byte shuffle ({@code selectFrom} on a 128-bit
 * table: {@code pshufb} on x86, {@code tbl} on ARM), widen to floats and multiply-add with x.
 * The group's sum is scaled once. A ragged last group (in not a multiple of G) and group sizes
 * whose half is not a multiple of 16 take a scalar path.
 */
public final class Q4NlMatrix extends SegmentMatrix {
    /** 16 bytes per load: one full shuffle table's worth of codes. */
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    /** At least 256-bit floats: 16 widened bytes fill 16/L float vectors (2 with AVX2, 1 with AVX-512). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;
    private static final int L = F.length();
    private static final int PARTS = Math.max(1, 16 / L);
    private static final ByteVector TABLE = ByteVector.fromArray(B, Q4Nl.levels(), 0);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final float[] LEVEL = new float[16];
    /** L bytes per load, zero-extended to L int lanes (the multi-row path, L = 16 only). */
    private static final VectorSpecies<Byte> BL = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 8));
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.withShape(F.vectorShape());
    /**
     * The 16 levels as float bits in one int vector: a code vector selects its levels with one
     * lane permute ({@code vpermd}), no int→float conversion. Only with 16 int lanes (AVX-512).
     */
    private static final IntVector LEVEL_BITS;
    /** Whether the one-permute level lookup (and the multi-row decode loop) is available. */
    static final boolean PERMUTE = L == 16;

    static {
        for (int c = 0; c < 16; c++) LEVEL[c] = Q4Nl.level(c);
        int[] bits = new int[L];
        for (int c = 0; c < L; c++) bits[c] = Float.floatToRawIntBits(c < 16 ? LEVEL[c] : 0f);
        LEVEL_BITS = IntVector.fromArray(I, bits, 0);
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
    /** True when each half-group is whole 16-byte loads and the float shape divides 16 lanes. */
    private final boolean vector;

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
        this.vector = half % 16 == 0 && 16 % L == 0;
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

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        if (x.length < in) throw new IllegalArgumentException("x has " + x.length + " elements, need in=" + in + " for " + this);
        if (y.length < to) throw new IllegalArgumentException("y has " + y.length + " elements, need at least " + to + " for " + this);
        if (from == to) return;
        float[] xc = scaleInput(x);
        int o = from;
        if (PERMUTE && half % L == 0 && fullGroups > 0) {
            // Short rows are visited page-strided, as in Int8GroupMatrix (see its rowStride).
            float[] sc = new float[4 * groups];
            int stride = rowBytes >= Int8GroupMatrix.PAGE ? 1 : Int8GroupMatrix.rowStride((int) rowBytes);
            for (int s = stride; s >= 1; s >>= 1) {
                for (; o + 4 * s <= to; o += 4 * s) {
                    for (int p = 0; p < s; p++) rows4(xc, y, o + p, s, sc);
                }
            }
        }
        for (; o < to; o++) y[o] = row(xc, o);
    }

    /** The levels of the low nibbles: {@code selectFrom} wraps indices mod 16, which is the mask. */
    private static FloatVector lowLevels(IntVector u) {
        return u.selectFrom(LEVEL_BITS).reinterpretAsFloats();
    }

    /** The levels of the high nibbles ({@code u >>> 4} is already below 16; the API still masks). */
    private static FloatVector highLevels(IntVector u) {
        return u.lanewise(VectorOperators.LSHR, 4).selectFrom(LEVEL_BITS).reinterpretAsFloats();
    }

    /** L bytes at {@code off} of {@code m}, zero-extended to int lanes (a code pair {@code lo + 16·hi} per lane). */
    private static IntVector codes(MemorySegment m, long off) {
        return (IntVector) ByteVector.fromMemorySegment(BL, m, off, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /**
     * Four rows o, o+s, o+2s, o+3s over the full groups, one flat int-counted loop over 16-byte vectors (32
     * weights per row, x read in place) that applies the group scales at group boundaries (see
     * docs/KERNELS.md on why flat); a ragged last group is added by the scalar path. Each row is
     * read through its own slice with int offsets below the loop bound, which lets C2 drop
     * most per-load bounds checks and spills (~10% faster hot than offsets into the whole region).
     */
    private void rows4(float[] xc, float[] y, int o, int s, float[] sc) {
        for (int r = 0; r < 4; r++) {
            long c = (long) (o + r * s) * groups;
            for (int g = 0; g < groups; g++) sc[r * groups + g] = scale(c + g);
        }
        int k1 = groups, k2 = 2 * groups, k3 = 3 * groups;
        int n = fullGroups * (half / L);
        long len = (long) n * L;
        MemorySegment m0 = weights.asSlice(o * rowBytes, len), m1 = weights.asSlice((o + s) * rowBytes, len);
        MemorySegment m2 = weights.asSlice((o + 2 * s) * rowBytes, len), m3 = weights.asSlice((o + 3 * s) * rowBytes, len);
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        int perGroup = half / L, left = perGroup, g = 0;
        for (int v = 0; v < n; v++) {
            int p = v * L, i = p + g * half; // byte p of the row holds inputs i (low) and i + G/2 (high)
            FloatVector l = FloatVector.fromArray(F, xc, i);
            FloatVector h = FloatVector.fromArray(F, xc, i + half);
            IntVector u0 = codes(m0, p), u1 = codes(m1, p), u2 = codes(m2, p), u3 = codes(m3, p);
            s0 = lowLevels(u0).fma(l, highLevels(u0).fma(h, s0));
            s1 = lowLevels(u1).fma(l, highLevels(u1).fma(h, s1));
            s2 = lowLevels(u2).fma(l, highLevels(u2).fma(h, s2));
            s3 = lowLevels(u3).fma(l, highLevels(u3).fma(h, s3));
            if (--left == 0) {
                a0 = s0.fma(FloatVector.broadcast(F, sc[g]), a0);
                a1 = s1.fma(FloatVector.broadcast(F, sc[k1 + g]), a1);
                a2 = s2.fma(FloatVector.broadcast(F, sc[k2 + g]), a2);
                a3 = s3.fma(FloatVector.broadcast(F, sc[k3 + g]), a3);
                s0 = zero; s1 = zero; s2 = zero; s3 = zero;
                g++;
                left = perGroup;
            }
        }
        y[o] = a0.reduceLanes(VectorOperators.ADD) + tail(xc, o, sc, 0);
        y[o + s] = a1.reduceLanes(VectorOperators.ADD) + tail(xc, o + s, sc, k1);
        y[o + 2 * s] = a2.reduceLanes(VectorOperators.ADD) + tail(xc, o + 2 * s, sc, k2);
        y[o + 3 * s] = a3.reduceLanes(VectorOperators.ADD) + tail(xc, o + 3 * s, sc, k3);
    }

    /** The ragged last group of row o, if any (scalar). */
    private float tail(float[] x, int o, float[] sc, int k) {
        float t = 0;
        for (int g = fullGroups; g < groups; g++) t += sc[k + g] * groupDotScalar(x, o * rowBytes + (long) g * half, g * group);
        return t;
    }

    private float row(float[] x, int o) {
        long r = o * rowBytes, c = (long) o * groups;
        int g = 0;
        FloatVector acc = FloatVector.zero(F);
        if (vector) {
            for (; g < fullGroups; g++) {
                int i0 = g * group;
                long b = r + (long) g * half;
                FloatVector s = FloatVector.zero(F);
                for (int j = 0; j < half; j += 16) {
                    ByteVector q = ByteVector.fromMemorySegment(B, weights, b + j, LE);
                    ByteVector lo = q.and((byte) 0x0F).selectFrom(TABLE);
                    ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(TABLE);
                    for (int p = 0; p < PARTS; p++) {
                        FloatVector wl = (FloatVector) lo.convertShape(VectorOperators.B2F, F, p);
                        FloatVector wh = (FloatVector) hi.convertShape(VectorOperators.B2F, F, p);
                        s = wl.fma(FloatVector.fromArray(F, x, i0 + j + p * L), s);
                        s = wh.fma(FloatVector.fromArray(F, x, i0 + half + j + p * L), s);
                    }
                }
                acc = s.fma(FloatVector.broadcast(F, scale(c + g)), acc);
            }
        }
        float t = 0;
        for (; g < groups; g++) t += scale(c + g) * groupDotScalar(x, r + (long) g * half, g * group);
        return acc.reduceLanes(VectorOperators.ADD) + t;
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
                    ByteVector q = ByteVector.fromMemorySegment(B, weights, b + j, LE);
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
