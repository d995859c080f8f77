package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
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
 * What every kernel shares: the two byte regions, argument checks, scale decoding, and the
 * tiled matrix-matrix product (prefill) built on each encoding's {@link #dequantizeRange}.
 *
 * <p>Subclasses implement the matrix-vector product (decode) as a fused, encoding-specific
 * loop over the mapped bytes, because that path is memory-bound and must not materialise
 * floats anywhere.
 */
abstract class SegmentMatrix implements WeightMatrix {
    /**
     * Float lanes per vector: the machine's preferred shape, but at least 256 bits so that the
     * matching byte vector (one byte per float lane) is a legal shape (≥ 64 bits).
     */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;
    static final int L = F.length();
    /** One byte per float lane: a load of L int8 weights widens to exactly one float vector. */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 8));
    /** One short per float lane, for bf16 weights. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 16));
    /** Int lanes of the float shape, for bf16 → float bit manipulation. */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.withShape(F.vectorShape());

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /** Input floats per prefill tile: 4 rows × 1024 floats = 16 KB of dequantized weights stay in L1. */
    static final int MATMUL_CHUNK = 1024;

    final EncodingSpec spec;
    final MemorySegment weights;
    final MemorySegment scales;
    final int in;
    final int out;

    SegmentMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        this.spec = spec;
        this.weights = weights;
        this.scales = scales;
        this.in = in;
        this.out = out;
    }

    @Override public final int inDim() { return in; }
    @Override public final int outDim() { return out; }
    @Override public final String encoding() { return spec.name(); }
    @Override public final long byteSize() { return spec.weightBytes(in, out) + spec.scaleBytes(in, out); }

    @Override
    public String toString() {
        return spec.name() + (spec.groupSize() > 0 ? "(G=" + spec.groupSize() + "," + spec.scaleType() + ")" : "")
                + "[in=" + in + ", out=" + out + "]";
    }

    /**
     * Dequantized weights {@code W[k, o]} for {@code k} in {@code [k0, k1)} into
     * {@code dst[off .. off + k1 - k0)}. {@code k0} is a multiple of {@link #chunkAlignment()}
     * and {@code k1} is too, or equals {@code in}.
     */
    abstract void dequantizeRange(int o, int k0, int k1, float[] dst, int off);

    /** Input ranges handed to {@link #dequantizeRange} start at multiples of this. */
    int chunkAlignment() { return 1; }

    final void checkMatvec(float[] x, float[] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        if (x.length < in) throw new IllegalArgumentException("x has " + x.length + " elements, need in=" + in + " for " + this);
        if (y.length < to) throw new IllegalArgumentException("y has " + y.length + " elements, need at least " + to + " for " + this);
    }

    /** Decodes a 16-bit scale: bf16 is the upper half of a float32, f16 is IEEE half precision. */
    static float decodeScale(short bits, boolean bf16) {
        return bf16 ? Float.intBitsToFloat(bits << 16) : Float.float16ToFloat(bits);
    }

    /**
     * Decodes {@code count} consecutive 16-bit scales starting at scale index {@code first} into
     * {@code dst[0 .. count)}. Kernels decode a row block's scales up front so their hot loops
     * read a float array instead of going through segment accessors: that keeps the loops small
     * enough for C2 to inline every Vector API call (past its node budget it stops inlining, and
     * a non-inlined vector op boxes).
     */
    final void decodeScales(long first, int count, float[] dst, boolean bf16) {
        for (int i = 0; i < count; i++) dst[i] = decodeScale(scales.get(LE_SHORT, 2 * (first + i)), bf16);
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * Prefill: {@code y[t][o] = Σ_k x[t][k]·W[k,o]}. Loops over input chunks of
     * {@link #MATMUL_CHUNK} (so x's chunk, T×4 KB, stays in L2), then over blocks of four output
     * rows, dequantizes the 4×chunk weight tile once into an L1 scratch and multiplies it with
     * all T rows in 4×4 register blocks (16 vector accumulators, 8 loads per 16 FMAs).
     */
    @Override
    public void matmul(float[][] x, float[][] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        int tokens = x.length;
        if (y.length < tokens) throw new IllegalArgumentException("y has " + y.length + " rows, x has " + tokens);
        if (tokens == 0 || from == to) return;
        if (tokens == 1) {
            matvec(x[0], y[0], from, to);
            return;
        }
        for (int t = 0; t < tokens; t++) checkMatvec(x[t], y[t], from, to);
        int align = chunkAlignment();
        int kc = Math.max(align, MATMUL_CHUNK / align * align);
        float[] tile = new float[4 * kc];
        float[] sums = new float[16];
        for (int k0 = 0; k0 < in; k0 += kc) {
            int k1 = Math.min(in, k0 + kc), len = k1 - k0, vec = F.loopBound(len);
            boolean first = k0 == 0;
            for (int o = from; o < to; o += 4) {
                int rows = Math.min(4, to - o);
                for (int r = 0; r < rows; r++) dequantizeRange(o + r, k0, k1, tile, r * kc);
                int t = 0;
                if (rows == 4) {
                    for (; t + 4 <= tokens; t += 4) {
                        tile4x4(x[t], x[t + 1], x[t + 2], x[t + 3], k0, vec, tile, kc, sums);
                        store4x4(x, y, t, o, k0, vec, len, tile, kc, sums, first);
                    }
                }
                for (; t < tokens; t++) {
                    for (int r = 0; r < rows; r++) {
                        float d = dot(x[t], k0, tile, r * kc, len);
                        y[t][o + r] = first ? d : y[t][o + r] + d;
                    }
                }
            }
        }
    }

    /** Adds the scalar tails [vec, len) to the 16 tile sums and stores them into y. */
    private static void store4x4(float[][] x, float[][] y, int t, int o, int k0, int vec, int len, float[] w, int kc,
                                 float[] sums, boolean first) {
        for (int q = 0; q < 4; q++) {
            float[] xq = x[t + q];
            float[] yq = y[t + q];
            for (int r = 0; r < 4; r++) {
                float v = sums[4 * q + r];
                for (int k = vec; k < len; k++) v += xq[k0 + k] * w[r * kc + k];
                yq[o + r] = first ? v : yq[o + r] + v;
            }
        }
    }

    /** Σ a[ao + i]·b[bo + i] for i in [0, len). */
    static float dot(float[] a, int ao, float[] b, int bo, int len) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(len); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < len; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /**
     * Four tokens × four output rows over the whole vectors {@code [0, vec)} of one input chunk;
     * w holds the 4 dequantized rows at stride kc. The 16 sums go to {@code sums[4·token + row]}.
     * Nothing else happens here: tails and stores live in {@link #store4x4}, so this loop
     * compiles to 8 loads and 16 FMAs per step with no checks left inside.
     */
    private static void tile4x4(float[] x0, float[] x1, float[] x2, float[] x3, int k0, int vec, float[] w, int kc, float[] sums) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc;
        for (int i = 0; i < vec; i += L) {
            FloatVector r0 = FloatVector.fromArray(F, w, i);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + i);
            FloatVector r2 = FloatVector.fromArray(F, w, w2 + i);
            FloatVector r3 = FloatVector.fromArray(F, w, w3 + i);
            FloatVector v = FloatVector.fromArray(F, x0, k0 + i);
            a00 = r0.fma(v, a00); a01 = r1.fma(v, a01); a02 = r2.fma(v, a02); a03 = r3.fma(v, a03);
            v = FloatVector.fromArray(F, x1, k0 + i);
            a10 = r0.fma(v, a10); a11 = r1.fma(v, a11); a12 = r2.fma(v, a12); a13 = r3.fma(v, a13);
            v = FloatVector.fromArray(F, x2, k0 + i);
            a20 = r0.fma(v, a20); a21 = r1.fma(v, a21); a22 = r2.fma(v, a22); a23 = r3.fma(v, a23);
            v = FloatVector.fromArray(F, x3, k0 + i);
            a30 = r0.fma(v, a30); a31 = r1.fma(v, a31); a32 = r2.fma(v, a32); a33 = r3.fma(v, a33);
        }
        sums[0] = a00.reduceLanes(VectorOperators.ADD); sums[1] = a01.reduceLanes(VectorOperators.ADD);
        sums[2] = a02.reduceLanes(VectorOperators.ADD); sums[3] = a03.reduceLanes(VectorOperators.ADD);
        sums[4] = a10.reduceLanes(VectorOperators.ADD); sums[5] = a11.reduceLanes(VectorOperators.ADD);
        sums[6] = a12.reduceLanes(VectorOperators.ADD); sums[7] = a13.reduceLanes(VectorOperators.ADD);
        sums[8] = a20.reduceLanes(VectorOperators.ADD); sums[9] = a21.reduceLanes(VectorOperators.ADD);
        sums[10] = a22.reduceLanes(VectorOperators.ADD); sums[11] = a23.reduceLanes(VectorOperators.ADD);
        sums[12] = a30.reduceLanes(VectorOperators.ADD); sums[13] = a31.reduceLanes(VectorOperators.ADD);
        sums[14] = a32.reduceLanes(VectorOperators.ADD); sums[15] = a33.reduceLanes(VectorOperators.ADD);
    }
}
