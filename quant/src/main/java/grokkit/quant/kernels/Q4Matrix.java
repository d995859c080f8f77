package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * {@code q4} and {@code q4_0}: out×in/2 bytes and out×(in/G) 16-bit scales. In each group of G
 * inputs (G/2 bytes), byte j holds input j in its low nibble and input j+G/2 in its high
 * nibble, each stored as {@code n = q+8}; {@code W = q·scale}.
 *
 * <p>Decode math, per group with scale k and byte values {@code u = lo + 16·hi}:
 * <pre>
 *   Σ_j (lo_j − 8)·x[j] + (hi_j − 8)·x[j+G/2]
 *     = Σ_j lo_j·(x[j] − x[j+G/2]/16) + u_j·(x[j+G/2]/16)  −  8·Σ_{i∈group} x[i]
 * </pre>
 * The two x-derived vectors {@code xa = x[j] − x[j+G/2]/16} and {@code xb = x[j+G/2]/16} and
 * the group sums of x are computed once per call, indexed by byte position, so each weight
 * byte costs one zero-extending widen, one mask, two int→float conversions and two FMAs, and
 * no shift. (Besides being faster, this keeps the 4-row loop small enough for C2 to inline
 * every Vector API call: past its node budget it stops inlining and the vectors box.)
 */
final class Q4Matrix extends SegmentMatrix {
    private final int group;
    private final int half;
    private final int groups;
    /** Bytes of each half-group covered by full vectors; the rest is a scalar tail. */
    private final int halfVec;
    private final long rowBytes;
    private final boolean bf16Scales;

    Q4Matrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        super(spec, weights, scales, in, out);
        this.group = spec.groupSize();
        this.half = group / 2;
        this.groups = in / group;
        this.halfVec = half / L * L;
        this.rowBytes = in / 2;
        this.bf16Scales = "bf16".equals(spec.scaleType());
    }

    private float scale(long index) {
        return decodeScale(scales.get(LE_SHORT, 2 * index), bf16Scales);
    }

    /** L bytes at {@code off}, zero-extended to int lanes {@code u = lo + 16·hi}. */
    private IntVector bytes(long off) {
        return (IntVector) ByteVector.fromMemorySegment(B, weights, off, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /** Low nibbles (inputs j) as floats 0..15. */
    private static FloatVector low(IntVector u) {
        return (FloatVector) u.and(0x0F).convert(VectorOperators.I2F, 0);
    }

    /** High nibbles (inputs j + G/2) as floats 0..15. */
    private static FloatVector high(IntVector u) {
        return (FloatVector) u.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
    }

    /** Whole bytes {@code u} as floats 0..255. */
    private static FloatVector whole(IntVector u) {
        return (FloatVector) u.convert(VectorOperators.I2F, 0);
    }

    @Override int chunkAlignment() { return group; }

    /**
     * Σ x over each group. Plain scalar code on purpose (here and in {@link #splitX}): it runs
     * once per call, so it may run interpreted for a long time, where scalar loops are fast and
     * Vector API code is very slow.
     */
    private float[] groupSums(float[] x) {
        float[] sums = new float[groups];
        for (int g = 0; g < groups; g++) {
            float s = 0;
            for (int i = g * group, end = i + group; i < end; i++) s += x[i];
            sums[g] = s;
        }
        return sums;
    }

    /** {@code xa[p] = x[j] − x[j+G/2]/16} and {@code xb[p] = x[j+G/2]/16} for byte position p = g·G/2 + j. */
    private void splitX(float[] x, float[] xa, float[] xb) {
        for (int g = 0, p = 0; g < groups; g++) {
            for (int i = g * group, end = i + half; i < end; i++, p++) {
                float hi = x[i + half] * 0.0625f; // exact: a power of two
                xa[p] = x[i] - hi;
                xb[p] = hi;
            }
        }
    }

    /** Whether the decode uses the xa/xb form (half-groups of whole vectors); else per group, raw x. */
    private boolean flat() {
        return half == halfVec;
    }

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        checkMatvec(x, y, from, to);
        if (from == to) return;
        float[] xs = groupSums(x);
        float[] lanes = new float[4 * L];
        int o = from;
        if (flat()) {
            float[] xa = new float[in / 2], xb = new float[in / 2];
            splitX(x, xa, xb);
            float[] sc = new float[4 * groups];
            for (; o + 4 <= to; o += 4) rows4Flat(xa, xb, xs, y, o, sc, lanes);
            for (; o < to; o++) y[o] = rowFlat(xa, xb, xs, o, sc, lanes);
        } else {
            for (; o + 4 <= to; o += 4) rows4(x, xs, y, o, lanes);
            for (; o < to; o++) y[o] = row(x, xs, o, lanes);
        }
    }

    /**
     * Four rows, half-groups of whole vectors (G = 16, 32, 64, 128 with 8 lanes): one flat,
     * int-counted loop over byte vectors that applies the scales at group boundaries. (A nested
     * loop of 1-4 trips compiles poorly; a long-counted loop kept failing loop predicates.)
     */
    private void rows4Flat(float[] xa, float[] xb, float[] xs, float[] y, int o, float[] sc, float[] lanes) {
        long r0 = o * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        decodeScales((long) o * groups, 4 * groups, sc, bf16Scales);
        int k1 = groups, k2 = 2 * groups, k3 = 3 * groups;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        int perGroup = half / L, left = perGroup, g = 0;
        for (int v = 0, n = (int) (rowBytes / L); v < n; v++) {
            int p = v * L;
            FloatVector a = FloatVector.fromArray(F, xa, p);
            FloatVector b = FloatVector.fromArray(F, xb, p);
            IntVector u0 = bytes(r0 + p), u1 = bytes(r1 + p), u2 = bytes(r2 + p), u3 = bytes(r3 + p);
            s0 = low(u0).fma(a, whole(u0).fma(b, s0));
            s1 = low(u1).fma(a, whole(u1).fma(b, s1));
            s2 = low(u2).fma(a, whole(u2).fma(b, s2));
            s3 = low(u3).fma(a, whole(u3).fma(b, s3));
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
                y[o] = flatFinish(tree(a0), sc, 0, xs);
                y[o + 1] = flatFinish(tree(a1), sc, groups, xs);
                y[o + 2] = flatFinish(tree(a2), sc, 2 * groups, xs);
                y[o + 3] = flatFinish(tree(a3), sc, 3 * groups, xs);
    }

    /** One row of {@link #rows4Flat}, same order. */
    private float rowFlat(float[] xa, float[] xb, float[] xs, int o, float[] sc, float[] lanes) {
        long r = o * rowBytes;
        decodeScales((long) o * groups, groups, sc, bf16Scales);
        FloatVector zero = FloatVector.zero(F);
        FloatVector a = zero, s = zero;
        int perGroup = half / L, left = perGroup, g = 0;
        for (int v = 0, n = (int) (rowBytes / L); v < n; v++) {
            int p = v * L;
            IntVector u = bytes(r + p);
            s = low(u).fma(FloatVector.fromArray(F, xa, p), whole(u).fma(FloatVector.fromArray(F, xb, p), s));
            if (--left == 0) {
                a = s.fma(FloatVector.broadcast(F, sc[g]), a);
                s = zero;
                g++;
                left = perGroup;
            }
        }
        return flatFinish(tree(a), sc, 0, xs);
    }

    /** The flat form's offset: tree sum − 8·Σ_g scale_g·Σx_g (scalar, in group order). */
    private float flatFinish(float lanes, float[] sc, int off, float[] xs) {
        return lanes - 8 * dot(sc, off, xs, groups);
    }

    /** Σ a[off + i]·b[i] for i in [0, n), scalar (per row, not per weight). */
    private static float dot(float[] a, int off, float[] b, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[off + i] * b[i];
        return s;
    }

    /** Four rows, any even group size: per group, whole vectors (the nibble tails and −8·Σx are in {@link #finish}). */
    private void rows4(float[] x, float[] xs, float[] y, int o, float[] lanes) {
        long r0 = o * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        long c0 = (long) o * groups, c1 = c0 + groups, c2 = c1 + groups, c3 = c2 + groups;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups && halfVec > 0; g++) {
            int i0 = g * group;
            long b = (long) g * half;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int j = 0; j < halfVec; j += L) {
                FloatVector xl = FloatVector.fromArray(F, x, i0 + j);
                FloatVector xh = FloatVector.fromArray(F, x, i0 + half + j);
                long d = b + j;
                IntVector q0 = bytes(r0 + d), q1 = bytes(r1 + d), q2 = bytes(r2 + d), q3 = bytes(r3 + d);
                s0 = high(q0).fma(xh, low(q0).fma(xl, s0));
                s1 = high(q1).fma(xh, low(q1).fma(xl, s1));
                s2 = high(q2).fma(xh, low(q2).fma(xl, s2));
                s3 = high(q3).fma(xh, low(q3).fma(xl, s3));
            }
            a0 = s0.fma(FloatVector.broadcast(F, scale(c0 + g)), a0);
            a1 = s1.fma(FloatVector.broadcast(F, scale(c1 + g)), a1);
            a2 = s2.fma(FloatVector.broadcast(F, scale(c2 + g)), a2);
            a3 = s3.fma(FloatVector.broadcast(F, scale(c3 + g)), a3);
        }
                y[o] = finish(o, tree(a0), x, xs);
                y[o + 1] = finish(o + 1, tree(a1), x, xs);
                y[o + 2] = finish(o + 2, tree(a2), x, xs);
                y[o + 3] = finish(o + 3, tree(a3), x, xs);
    }

    /** Unsigned nibbles of the byte at {@code off} times the two inputs they feed. */
    private float nib(long off, float xl, float xh) {
        int v = weights.get(BYTE, off);
        return (v & 0x0F) * xl + ((v >> 4) & 0x0F) * xh;
    }

    private float row(float[] x, float[] xs, int o, float[] lanes) {
        long r = o * rowBytes, c = (long) o * groups;
        FloatVector a = FloatVector.zero(F);
        for (int g = 0; g < groups && halfVec > 0; g++) {
            int i0 = g * group;
            long b = r + (long) g * half;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < halfVec; j += L) {
                IntVector q = bytes(b + j);
                s = high(q).fma(FloatVector.fromArray(F, x, i0 + half + j), low(q).fma(FloatVector.fromArray(F, x, i0 + j), s));
            }
            a = s.fma(FloatVector.broadcast(F, scale(c + g)), a);
        }
        return finish(o, tree(a), x, xs);
    }

    // Features. Flat form: per 8 bytes p.. of a row, 8 × (u, x[j+G/2]/16) then 8 × (lo, x[j] − x[j+G/2]/16).
    // Per-group form: per 8 bytes of a half-group's whole vectors, 8 × (lo, x[j]) then 8 × (hi, x[j+G/2]).
    @Override int vectorFeatures() { return flat() ? in : groups * 2 * halfVec; }
    @Override int featureGroup() { return flat() ? group : 2 * halfVec; }
    @Override boolean featuresAreInputs() { return false; }

    @Override
    void inputFeatures(float[] x, int f0, int f1, float[] dst, int off) {
        if (flat()) {
            // Runs per token and product call: splitX's loops, then only constant shifts per feature
            // (the general mapping below divides by the group size, ~10× slower).
            float[] xa = new float[in / 2], xb = new float[in / 2];
            splitX(x, xa, xb);
            for (int f = f0; f < f1; f++) {
                int p = f / (2 * L) * L + f % L;
                dst[off + f - f0] = ((f / L) & 1) == 0 ? xb[p] : xa[p];
            }
            return;
        }
        for (int f = f0; f < f1; f++) {
            int step = f / (2 * L), second = (f / L) & 1, lane = f % L;
            float v;
            if (flat()) {
                int p = step * L + lane, i = p / half * group + p % half;
                float hi = x[i + half] * 0.0625f;
                v = second == 0 ? hi : x[i] - hi;
            } else {
                int perGroup = halfVec / L, g = step / perGroup, j = step % perGroup * L + lane;
                v = x[g * group + j + (second == 0 ? 0 : half)];
            }
            dst[off + f - f0] = v;
        }
    }

    @Override
    void featureWeights(int o, int f0, int f1, float[] dst, int off) {
        long r = o * rowBytes;
        for (int f = f0; f < f1; f += 2 * L) {
            int step = f / (2 * L), d = off + f - f0;
            IntVector u;
            if (flat()) {
                u = bytes(r + (long) step * L);
                whole(u).intoArray(dst, d);
                low(u).intoArray(dst, d + L);
            } else {
                int perGroup = halfVec / L, g = step / perGroup;
                u = bytes(r + (long) g * half + (long) (step % perGroup) * L);
                low(u).intoArray(dst, d);
                high(u).intoArray(dst, d + L);
            }
        }
    }

    @Override
    void groupScales(int o, int g0, int g1, float[] dst, int off) {
        decodeScales((long) o * groups + g0, g1 - g0, dst, off, bf16Scales);
    }

    @Override
    float[] prepare(float[] x) {
        return groupSums(x);
    }

    /**
     * Flat form: −8·Σ scale·Σx. Per-group form: Σ_g scale_g · (−8·Σx_g + the nibble pairs past
     * the whole vectors, in order), added to the tree sum.
     */
    @Override
    float finish(int o, float lanes, float[] x, float[] xs) {
        long r = o * rowBytes, c = (long) o * groups;
        if (flat()) {
            float s = 0;
            for (int g = 0; g < groups; g++) s += scale(c + g) * xs[g];
            return lanes - 8 * s;
        }
        float t = 0;
        for (int g = 0; g < groups; g++) {
            int i0 = g * group;
            long b = r + (long) g * half;
            float u = -8 * xs[g];
            for (int j = halfVec; j < half; j++) u += nib(b + j, x[i0 + j], x[i0 + half + j]);
            t += scale(c + g) * u;
        }
        return lanes + t;
    }

    /**
     * The flat form's finish for all tokens of a prefill block: a row's scales are decoded once,
     * and eight tokens' chains {@code s = s + scale_g·Σx_g} run in the lanes of one vector (lane
     * t: token t's chain, exactly {@link #finish}'s scalar operations), four rows side by side so
     * the adds do not wait on each other, instead of one serial chain with a scale decode per
     * group, token and row.
     */
    @Override
    void finishBlock(float[][] x, float[][] xs, float[] st, int blockRows, int lanes, int b0, int b1, float[][] y) {
        if (!flat()) {
            super.finishBlock(x, xs, st, blockRows, lanes, b0, b1, y);
            return;
        }
        int tokens = x.length, width = (tokens + L - 1) / L * L;
        float[] sumsByGroup = new float[groups * width];
        for (int t = 0; t < tokens; t++) for (int g = 0; g < groups; g++) sumsByGroup[g * width + t] = xs[t][g];
        float[] sc = new float[4 * groups], offsets = new float[4 * L];
        int o = b0;
        for (; o + 4 <= b1; o += 4) {
            decodeScales((long) o * groups, 4 * groups, sc, bf16Scales);
            for (int t0 = 0; t0 < tokens; t0 += L) {
                offsets4(sc, sumsByGroup, width, t0, offsets);
                for (int r = 0; r < 4; r++) store(st, blockRows, lanes, b0, o + r, t0, tokens, offsets, r * L, y);
            }
        }
        for (; o < b1; o++) {
            decodeScales((long) o * groups, groups, sc, bf16Scales);
            for (int t0 = 0; t0 < tokens; t0 += L) {
                FloatVector s = FloatVector.zero(F);
                for (int g = 0; g < groups; g++) s = s.add(FloatVector.broadcast(F, sc[g]).mul(FloatVector.fromArray(F, sumsByGroup, g * width + t0)));
                s.intoArray(offsets, 0);
                store(st, blockRows, lanes, b0, o, t0, tokens, offsets, 0, y);
            }
        }
    }

    /** Four rows' chains (scales at {@code sc[r·groups + g]}) for tokens t0 .. t0+L−1, side by side, into {@code dst[r·L + lane]}. */
    private void offsets4(float[] sc, float[] sumsByGroup, int width, int t0, float[] dst) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int g = 0, k1 = groups, k2 = 2 * groups, k3 = 3 * groups; g < groups; g++) {
            FloatVector v = FloatVector.fromArray(F, sumsByGroup, g * width + t0);
            s0 = s0.add(FloatVector.broadcast(F, sc[g]).mul(v));
            s1 = s1.add(FloatVector.broadcast(F, sc[k1 + g]).mul(v));
            s2 = s2.add(FloatVector.broadcast(F, sc[k2 + g]).mul(v));
            s3 = s3.add(FloatVector.broadcast(F, sc[k3 + g]).mul(v));
        }
        s0.intoArray(dst, 0); s1.intoArray(dst, L); s2.intoArray(dst, 2 * L); s3.intoArray(dst, 3 * L);
    }

    /** {@code y[t][o] = tree − 8·offset} for tokens t0 .. min(tokens, t0+L)−1: {@link #finish}'s last step, scalar. */
    private static void store(float[] st, int blockRows, int lanes, int b0, int o, int t0, int tokens, float[] offsets, int off, float[][] y) {
        for (int t = t0, end = Math.min(tokens, t0 + L); t < end; t++) {
            y[t][o] = tree(st, 16 * (t * blockRows + o - b0) + lanes) - 8 * offsets[off + t - t0];
        }
    }

    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = o * rowBytes, c = (long) o * groups;
        int g0 = k0 / group, g1 = k1 / group;
        if (half == halfVec && g1 > g0) {
            dequantizeGroupsFlat(r, c, g0, g1, dst, off);
            return;
        }
        FloatVector eight = FloatVector.broadcast(F, 8f);
        for (int g = g0; g < g1; g++) {
            float s = scale(c + g);
            FloatVector sv = FloatVector.broadcast(F, s);
            long b = r + (long) g * half;
            int d = off + g * group - k0;
            int j = 0;
            for (; j < halfVec; j += L) {
                IntVector q = bytes(b + j);
                low(q).sub(eight).mul(sv).intoArray(dst, d + j);
                high(q).sub(eight).mul(sv).intoArray(dst, d + half + j);
            }
            for (; j < half; j++) {
                int v = weights.get(BYTE, b + j);
                dst[d + j] = ((v & 0x0F) - 8) * s;
                dst[d + half + j] = (((v >> 4) & 0x0F) - 8) * s;
            }
        }
    }

    /** Groups [g0, g1) of row r when half-groups are whole vectors: one flat loop (prefill tiles). */
    private void dequantizeGroupsFlat(long r, long c, int g0, int g1, float[] dst, int off) {
        float[] sc = new float[g1 - g0];
        decodeScales(c + g0, g1 - g0, sc, bf16Scales);
        FloatVector eight = FloatVector.broadcast(F, 8f);
        FloatVector sv = FloatVector.broadcast(F, sc[0]);
        long b = r + (long) g0 * half;
        int perGroup = half / L, left = perGroup, j = 0, d = off, g = 0;
        for (int v = 0, n = (g1 - g0) * perGroup; v < n; v++) {
            IntVector q = bytes(b + (long) v * L);
            low(q).sub(eight).mul(sv).intoArray(dst, d + j);
            high(q).sub(eight).mul(sv).intoArray(dst, d + half + j);
            j += L;
            if (--left == 0) {
                left = perGroup;
                j = 0;
                d += group;
                if (++g < sc.length) sv = FloatVector.broadcast(F, sc[g]);
            }
        }
    }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        java.util.Objects.checkIndex(o, out);
        dequantizeRange(o, 0, in, dst, 0);
    }
}
