package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * {@code int8-rowblock} and {@code q8}: out×in int8 (row o = the weights feeding output o) and
 * out×(in/G) 16-bit scales; {@code W[k,o] = q[o,k] · s[o, k/G]}. For int8-rowblock G is
 * {@code in} (per-column scales) or {@code in/8} (xAI's row-block sharded scales).
 *
 * <p>Decode loop: per group, L bytes → L float lanes (sign-extend + convert), FMA with x into
 * a per-group vector sum, then one FMA with the broadcast scale into the row accumulator, so a
 * scale costs one operation per group rather than per weight.
 */
final class Int8GroupMatrix extends SegmentMatrix {
    private final int group;
    private final int groups;
    /** Inputs of each group covered by full vectors; the rest of the group is a scalar tail. */
    private final int groupVec;
    private final boolean bf16Scales;
    /** See {@link #rowStride(int)}. */
    private final int rowStride;
    /** The page size the hardware prefetcher tracks streams within. */
    static final int PAGE = 4096;

    Int8GroupMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        super(spec, weights, scales, in, out);
        this.group = spec.groupSize();
        this.groups = in / group;
        this.groupVec = group / L * L;
        this.bf16Scales = "bf16".equals(spec.scaleType());
        this.rowStride = rowStride(in);
    }

    /**
     * Distance between the rows a decode pass keeps in flight: 1 for rows of a page or more,
     * else the power of two that puts each of them in its own 4 KB page (2 for 2 KB rows).
     * The hardware prefetcher follows about one stream per page; with consecutive 2 KB rows in
     * flight two streams share a page and the product read at ~80% of the streaming probe (one
     * thread, by CPU time), with rows o, o+2, …, o+14 and then the odd ones at ~93% (1 KB rows,
     * stride 4: 96% instead of 67%). A block of 8·stride rows is done in stride passes, each
     * over other rows of the same pages.
     */
    static int rowStride(int in) {
        if (in >= PAGE || in < PAGE / 8) return 1; // tiny rows: matrices too small to matter
        int s = 1;
        while ((long) s * in < PAGE) s <<= 1;
        return s;
    }

    private FloatVector load(long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, weights, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    private float scale(long index) {
        return decodeScale(scales.get(LE_SHORT, 2 * index), bf16Scales);
    }

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        checkMatvec(x, y, from, to);
        int o = from;
        int vectorsPerGroup = group == groupVec ? group / L : 0;
        float[] lanes = new float[8 * L];
        if (vectorsPerGroup >= 4 && vectorsPerGroup % 2 == 0) {
            // Eight rows in flight keep more cache misses outstanding: ~12% more of the read
            // bandwidth on 6144→32768 than four rows (69% vs 61% of the streaming probe).
            // Short rows are visited page-strided (see rowStride).
            float[] sc = new float[8 * groups];
            for (int s = rowStride; s >= 1; s >>= 1) {
                for (; o + 8 * s <= to; o += 8 * s) {
                    for (int p = 0; p < s; p++) rows8Flat(x, y, o + p, s, sc, lanes);
                }
            }
            for (; o + 4 <= to; o += 4) rows4Pairs(x, y, o, sc, lanes);
        } else if (vectorsPerGroup == 2) {
            float[] sc = new float[4 * groups];
            for (int s = rowStride; s >= 1; s >>= 1) {
                for (; o + 4 * s <= to; o += 4 * s) {
                    for (int p = 0; p < s; p++) rows4x2(x, y, o + p, s, sc, lanes);
                }
            }
        } else if (vectorsPerGroup > 0 && vectorsPerGroup % 2 == 0) {
            float[] sc = new float[4 * groups];
            for (; o + 4 <= to; o += 4) rows4Pairs(x, y, o, sc, lanes);
        } else {
            for (; o + 4 <= to; o += 4) rows4(x, y, o, lanes);
        }
        for (; o < to; o++) y[o] = row(x, o, lanes);
    }

    /** Four rows, any group size: per group, whole vectors (the scalar group tails are in {@link #finish}). */
    private void rows4(float[] x, float[] y, int o, float[] lanes) {
        long r0 = (long) o * in, r1 = r0 + in, r2 = r1 + in, r3 = r2 + in;
        long c0 = (long) o * groups, c1 = c0 + groups, c2 = c1 + groups, c3 = c2 + groups;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups && groupVec > 0; g++) {
            int i0 = g * group;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int j = 0; j < groupVec; j += L) {
                int i = i0 + j;
                FloatVector xv = FloatVector.fromArray(F, x, i);
                s0 = load(r0 + i).fma(xv, s0);
                s1 = load(r1 + i).fma(xv, s1);
                s2 = load(r2 + i).fma(xv, s2);
                s3 = load(r3 + i).fma(xv, s3);
            }
            a0 = s0.fma(FloatVector.broadcast(F, scale(c0 + g)), a0);
            a1 = s1.fma(FloatVector.broadcast(F, scale(c1 + g)), a1);
            a2 = s2.fma(FloatVector.broadcast(F, scale(c2 + g)), a2);
            a3 = s3.fma(FloatVector.broadcast(F, scale(c3 + g)), a3);
        }
                y[o] = finish(o, tree(a0), x, null);
                y[o + 1] = finish(o + 1, tree(a1), x, null);
                y[o + 2] = finish(o + 2, tree(a2), x, null);
                y[o + 3] = finish(o + 3, tree(a3), x, null);
    }

    /**
     * rows4 for groups of exactly two vectors (q8 G = 32 with 16 float lanes), written out: C2
     * compiles a nested loop of 2 trips poorly; this runs ~3× faster than {@link #rows4} there.
     * Rows o, o+s, o+2s, o+3s (s: {@link #rowStride}).
     */
    private void rows4x2(float[] x, float[] y, int o, int s, float[] sc, float[] lanes) {
        long st = (long) s * in;
        long r0 = (long) o * in, r1 = r0 + st, r2 = r1 + st, r3 = r2 + st;
        decodeRowScales(o, s, 4, sc);
        int c0 = 0, c1 = groups, c2 = 2 * groups, c3 = 3 * groups;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (int g = 0, i = 0; g < groups; g++, i += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(F, x, i);
            FloatVector x1 = FloatVector.fromArray(F, x, i + L);
            FloatVector s0 = load(r0 + i).fma(x0, zero);
            s0 = load(r0 + i + L).fma(x1, s0);
            FloatVector s1 = load(r1 + i).fma(x0, zero);
            s1 = load(r1 + i + L).fma(x1, s1);
            FloatVector s2 = load(r2 + i).fma(x0, zero);
            s2 = load(r2 + i + L).fma(x1, s2);
            FloatVector s3 = load(r3 + i).fma(x0, zero);
            s3 = load(r3 + i + L).fma(x1, s3);
            a0 = s0.fma(FloatVector.broadcast(F, sc[c0 + g]), a0);
            a1 = s1.fma(FloatVector.broadcast(F, sc[c1 + g]), a1);
            a2 = s2.fma(FloatVector.broadcast(F, sc[c2 + g]), a2);
            a3 = s3.fma(FloatVector.broadcast(F, sc[c3 + g]), a3);
        }
                // Groups are whole vectors here: finish() would return the tree sum unchanged, and
        // inlining its segment reads into this loop's method cost C2's budget (~50% slower).
        y[o] = tree(a0); y[o + s] = tree(a1); y[o + 2 * s] = tree(a2); y[o + 3 * s] = tree(a3);
    }

    /** Scales of rows o, o+s, …, o+(n−1)s, row after row, into {@code sc[0, n·groups)}. */
    private void decodeRowScales(int o, int s, int n, float[] sc) {
        if (s == 1) {
            decodeScales((long) o * groups, n * groups, sc, bf16Scales);
            return;
        }
        for (int k = 0; k < n; k++) {
            long first = (long) (o + k * s) * groups;
            for (int g = 0; g < groups; g++) sc[k * groups + g] = decodeScale(scales.get(LE_SHORT, 2 * (first + g)), bf16Scales);
        }
    }

    /**
     * rows4 for groups of an even number of vectors (G = 64, 128, in/8, in): one flat loop over
     * vector pairs that applies the scale when it crosses a group boundary. A flat loop with a
     * predictable branch compiles better than a nested loop of few trips, and stays small
     * enough for C2 to inline every Vector API call (fully unrolled bodies for G = 128 do not).
     */
    private void rows4Pairs(float[] x, float[] y, int o, float[] sc, float[] lanes) {
        long r0 = (long) o * in, r1 = r0 + in, r2 = r1 + in, r3 = r2 + in;
        decodeScales((long) o * groups, 4 * groups, sc, bf16Scales);
        int c0 = 0, c1 = groups, c2 = 2 * groups, c3 = 3 * groups;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        for (int i = 0, g = 0, left = group; i < in; i += 2 * L) {
            FloatVector xa = FloatVector.fromArray(F, x, i);
            FloatVector xb = FloatVector.fromArray(F, x, i + L);
            s0 = load(r0 + i + L).fma(xb, load(r0 + i).fma(xa, s0));
            s1 = load(r1 + i + L).fma(xb, load(r1 + i).fma(xa, s1));
            s2 = load(r2 + i + L).fma(xb, load(r2 + i).fma(xa, s2));
            s3 = load(r3 + i + L).fma(xb, load(r3 + i).fma(xa, s3));
            left -= 2 * L;
            if (left == 0) {
                a0 = s0.fma(FloatVector.broadcast(F, sc[c0 + g]), a0);
                a1 = s1.fma(FloatVector.broadcast(F, sc[c1 + g]), a1);
                a2 = s2.fma(FloatVector.broadcast(F, sc[c2 + g]), a2);
                a3 = s3.fma(FloatVector.broadcast(F, sc[c3 + g]), a3);
                s0 = zero; s1 = zero; s2 = zero; s3 = zero;
                g++;
                left = group;
            }
        }
                y[o] = tree(a0); y[o + 1] = tree(a1); y[o + 2] = tree(a2); y[o + 3] = tree(a3); // whole-vector groups: see rows4x2
    }

    /** L int8 weights at {@code off} of a row slice, as floats. */
    private static FloatVector load(MemorySegment m, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, m, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Eight rows o, o+s, …, o+7s (s: {@link #rowStride}), groups of whole vectors (G = 64, 128,
     * in/8, in): one vector per row per
     * iteration, a flat loop that applies the scales at group boundaries. The body stays small
     * (C2 unrolls it after inlining, which does not count against its inlining node budget).
     * Each row is read through its own slice at int offsets below the loop bound, which lets
     * C2 drop most per-load bounds checks and register spills: 8–40% faster hot (L2) than
     * long offsets into the whole region.
     */
    private void rows8Flat(float[] x, float[] y, int o, int s, float[] sc, float[] lanes) {
        long r0 = (long) o * in, st = (long) s * in;
        MemorySegment m0 = weights.asSlice(r0, in), m1 = weights.asSlice(r0 + st, in), m2 = weights.asSlice(r0 + 2 * st, in), m3 = weights.asSlice(r0 + 3 * st, in);
        MemorySegment m4 = weights.asSlice(r0 + 4 * st, in), m5 = weights.asSlice(r0 + 5 * st, in), m6 = weights.asSlice(r0 + 6 * st, in), m7 = weights.asSlice(r0 + 7 * st, in);
        decodeRowScales(o, s, 8, sc);
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
        FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero, s4 = zero, s5 = zero, s6 = zero, s7 = zero;
        int perGroup = group / L, left = perGroup, g = 0;
        for (int i = 0; i < in; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, i);
            s0 = load(m0, i).fma(xv, s0);
            s1 = load(m1, i).fma(xv, s1);
            s2 = load(m2, i).fma(xv, s2);
            s3 = load(m3, i).fma(xv, s3);
            s4 = load(m4, i).fma(xv, s4);
            s5 = load(m5, i).fma(xv, s5);
            s6 = load(m6, i).fma(xv, s6);
            s7 = load(m7, i).fma(xv, s7);
            if (--left == 0) {
                a0 = s0.fma(FloatVector.broadcast(F, sc[g]), a0);
                a1 = s1.fma(FloatVector.broadcast(F, sc[groups + g]), a1);
                a2 = s2.fma(FloatVector.broadcast(F, sc[2 * groups + g]), a2);
                a3 = s3.fma(FloatVector.broadcast(F, sc[3 * groups + g]), a3);
                a4 = s4.fma(FloatVector.broadcast(F, sc[4 * groups + g]), a4);
                a5 = s5.fma(FloatVector.broadcast(F, sc[5 * groups + g]), a5);
                a6 = s6.fma(FloatVector.broadcast(F, sc[6 * groups + g]), a6);
                a7 = s7.fma(FloatVector.broadcast(F, sc[7 * groups + g]), a7);
                s0 = zero; s1 = zero; s2 = zero; s3 = zero; s4 = zero; s5 = zero; s6 = zero; s7 = zero;
                g++;
                left = perGroup;
            }
        }
        y[o] = tree(a0);
        y[o + s] = tree(a1);
        y[o + 2 * s] = tree(a2);
        y[o + 3 * s] = tree(a3);
        y[o + 4 * s] = tree(a4);
        y[o + 5 * s] = tree(a5);
        y[o + 6 * s] = tree(a6);
        y[o + 7 * s] = tree(a7);
    }

    private float row(float[] x, int o, float[] lanes) {
        long r = (long) o * in, c = (long) o * groups;
        FloatVector a = FloatVector.zero(F);
        for (int g = 0; g < groups && groupVec > 0; g++) {
            int i0 = g * group;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < groupVec; j += L) s = load(r + i0 + j).fma(FloatVector.fromArray(F, x, i0 + j), s);
            a = s.fma(FloatVector.broadcast(F, scale(c + g)), a);
        }
        return finish(o, tree(a), x, null);
    }

    // Features: the whole-vector part of each group, groups in order (all inputs when G is a multiple of L).
    @Override int vectorFeatures() { return groups * groupVec; }
    @Override int featureGroup() { return groupVec; }
    @Override boolean featuresAreInputs() { return groupVec == group; }

    @Override
    void inputFeatures(float[] x, int f0, int f1, float[] dst, int off) {
        for (int f = f0; f < f1; f++) dst[off + f - f0] = x[f / groupVec * group + f % groupVec];
    }

    @Override
    void featureWeights(int o, int f0, int f1, float[] dst, int off) {
        long r = (long) o * in;
        for (int f = f0; f < f1; f += L) {
            int i = groupVec == group ? f : f / groupVec * group + f % groupVec; // f and groupVec are multiples of L
            load(r + i).intoArray(dst, off + f - f0);
        }
    }

    @Override
    int touchWeights(int o, int f0, int f1) {
        if (groupVec != group) return 0;
        long r = (long) o * in;
        int sum = 0;
        for (int f = f0; f < f1; f += 64) sum += weights.get(BYTE, r + f);
        return sum;
    }

    @Override
    void groupScales(int o, int g0, int g1, float[] dst, int off) {
        decodeScales((long) o * groups + g0, g1 - g0, dst, off, bf16Scales);
    }

    /** Each group's inputs past its whole vectors: {@code Σ_g scale_g · (Σ x·q in order)}, added to the tree sum. */
    @Override
    float finish(int o, float lanes, float[] x, float[] prepared) {
        if (groupVec == group) return lanes;
        long r = (long) o * in, c = (long) o * groups;
        float t = 0;
        for (int g = 0; g < groups; g++) {
            float u = 0;
            for (int i = g * group + groupVec; i < (g + 1) * group; i++) u += x[i] * weights.get(BYTE, r + i);
            t += scale(c + g) * u;
        }
        return lanes + t;
    }

    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = (long) o * in, c = (long) o * groups;
        if (groupVec == group && k0 % group == 0 && (k1 - k0) % group == 0 && k1 > k0) {
            dequantizeGroupsFlat(r, c, k0 / group, k1 / group, dst, off);
            return;
        }
        int k = k0;
        while (k < k1) {
            int g = k / group;
            int end = Math.min(k1, (g + 1) * group);
            float s = scale(c + g);
            FloatVector sv = FloatVector.broadcast(F, s);
            int n = end - k, j = 0;
            for (int bound = F.loopBound(n); j < bound; j += L) {
                load(r + k + j).mul(sv).intoArray(dst, off + (k - k0) + j);
            }
            for (; j < n; j++) dst[off + (k - k0) + j] = weights.get(BYTE, r + k + j) * s;
            k = end;
        }
    }

    /** Whole groups [g0, g1) of row r when groups are whole vectors: one flat loop (prefill tiles). */
    private void dequantizeGroupsFlat(long r, long c, int g0, int g1, float[] dst, int off) {
        float[] sc = new float[g1 - g0];
        decodeScales(c + g0, g1 - g0, sc, bf16Scales);
        FloatVector sv = FloatVector.broadcast(F, sc[0]);
        long b = r + (long) g0 * group;
        int perGroup = group / L, left = perGroup, g = 0;
        for (int v = 0, n = (g1 - g0) * perGroup; v < n; v++) {
            load(b + (long) v * L).mul(sv).intoArray(dst, off + v * L);
            if (--left == 0) {
                left = perGroup;
                if (++g < sc.length) sv = FloatVector.broadcast(F, sc[g]);
            }
        }
    }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        java.util.Objects.checkIndex(o, out);
        long r = (long) o * in, c = (long) o * groups;
        for (int g = 0; g < groups; g++) {
            float s = scale(c + g);
            for (int i = g * group; i < (g + 1) * group; i++) dst[i] = weights.get(BYTE, r + i) * s;
        }
    }
}
