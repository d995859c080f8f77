package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * {@code q4} and {@code q4_0}: out×in/2 bytes and out×(in/G) 16-bit scales. In each group of G
 * inputs (G/2 bytes), byte j holds input j in its low nibble and input j+G/2 in its high
 * nibble, each stored as {@code q+8}; {@code W = q·scale}.
 *
 * <p>Because of that layout, L consecutive bytes split into two contiguous runs of inputs: the
 * low nibbles ({@code and 0x0F}) feed x[j..j+L) and the high nibbles ({@code >>> 4}) feed
 * x[j+G/2..j+G/2+L). The {@code -8} offset is not subtracted per weight: per group
 * {@code Σ (n-8)·x = Σ n·x − 8·Σ x}, and Σ x over each group is computed once per call.
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

    private ByteVector bytes(long off) {
        return ByteVector.fromMemorySegment(B, weights, off, LE);
    }

    private static FloatVector low(ByteVector b) {
        return (FloatVector) b.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector high(ByteVector b) {
        return (FloatVector) b.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
    }

    @Override int chunkAlignment() { return group; }

    /**
     * Σ x over each group. Plain scalar code on purpose: it runs once per call, so it may run
     * interpreted for a long time, where scalar loops are fast and Vector API code is very slow.
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

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        checkMatvec(x, y, from, to);
        if (from == to) return;
        float[] xs = groupSums(x);
        int o = from;
        switch (half == halfVec ? half / L : 0) {
            case 0 -> { for (; o + 4 <= to; o += 4) rows4(x, xs, y, o); }
            default -> { for (; o + 4 <= to; o += 4) rows4Flat(x, xs, y, o); }
        }
        for (; o < to; o++) y[o] = row(x, xs, o);
    }

    private void rows4(float[] x, float[] xs, float[] y, int o) {
        long r0 = o * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        long c0 = (long) o * groups, c1 = c0 + groups, c2 = c1 + groups, c3 = c2 + groups;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        // Scalar parts: nibble tails (already scaled) minus 8·scale·Σx per group.
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (int g = 0; g < groups; g++) {
            int i0 = g * group;
            long b = (long) g * half;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int j = 0; j < halfVec; j += L) {
                FloatVector xl = FloatVector.fromArray(F, x, i0 + j);
                FloatVector xh = FloatVector.fromArray(F, x, i0 + half + j);
                long d = b + j;
                ByteVector q0 = bytes(r0 + d), q1 = bytes(r1 + d), q2 = bytes(r2 + d), q3 = bytes(r3 + d);
                s0 = high(q0).fma(xh, low(q0).fma(xl, s0));
                s1 = high(q1).fma(xh, low(q1).fma(xl, s1));
                s2 = high(q2).fma(xh, low(q2).fma(xl, s2));
                s3 = high(q3).fma(xh, low(q3).fma(xl, s3));
            }
            float k0 = scale(c0 + g), k1 = scale(c1 + g), k2 = scale(c2 + g), k3 = scale(c3 + g);
            a0 = s0.fma(FloatVector.broadcast(F, k0), a0);
            a1 = s1.fma(FloatVector.broadcast(F, k1), a1);
            a2 = s2.fma(FloatVector.broadcast(F, k2), a2);
            a3 = s3.fma(FloatVector.broadcast(F, k3), a3);
            float u0 = -8 * xs[g], u1 = u0, u2 = u0, u3 = u0;
            for (int j = halfVec; j < half; j++) {
                float xl = x[i0 + j], xh = x[i0 + half + j];
                long d = b + j;
                u0 += nib(r0 + d, xl, xh);
                u1 += nib(r1 + d, xl, xh);
                u2 += nib(r2 + d, xl, xh);
                u3 += nib(r3 + d, xl, xh);
            }
            t0 += k0 * u0; t1 += k1 * u1; t2 += k2 * u2; t3 += k3 * u3;
        }
        y[o] = a0.reduceLanes(VectorOperators.ADD) + t0;
        y[o + 1] = a1.reduceLanes(VectorOperators.ADD) + t1;
        y[o + 2] = a2.reduceLanes(VectorOperators.ADD) + t2;
        y[o + 3] = a3.reduceLanes(VectorOperators.ADD) + t3;
    }

    /**
     * rows4 for half-groups of whole byte vectors (G = 32, 64, 128 with 16 lanes): one flat loop over
     * byte vectors that applies the scale when it crosses a group boundary (a flat loop with a
     * predictable branch compiles better than a nested loop of few trips).
     */
    private void rows4Flat(float[] x, float[] xs, float[] y, int o) {
        long r0 = o * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        long c0 = (long) o * groups, c1 = c0 + groups, c2 = c1 + groups, c3 = c2 + groups;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        int g = 0, j = 0, i0 = 0;
        for (long d = 0; d < rowBytes; d += L) {
            FloatVector xl = FloatVector.fromArray(F, x, i0 + j);
            FloatVector xh = FloatVector.fromArray(F, x, i0 + half + j);
            ByteVector q0 = bytes(r0 + d), q1 = bytes(r1 + d), q2 = bytes(r2 + d), q3 = bytes(r3 + d);
            s0 = high(q0).fma(xh, low(q0).fma(xl, s0));
            s1 = high(q1).fma(xh, low(q1).fma(xl, s1));
            s2 = high(q2).fma(xh, low(q2).fma(xl, s2));
            s3 = high(q3).fma(xh, low(q3).fma(xl, s3));
            j += L;
            if (j == half) {
                float k0 = scale(c0 + g), k1 = scale(c1 + g), k2 = scale(c2 + g), k3 = scale(c3 + g);
                a0 = s0.fma(FloatVector.broadcast(F, k0), a0);
                a1 = s1.fma(FloatVector.broadcast(F, k1), a1);
                a2 = s2.fma(FloatVector.broadcast(F, k2), a2);
                a3 = s3.fma(FloatVector.broadcast(F, k3), a3);
                float m = xs[g];
                t0 += k0 * m; t1 += k1 * m; t2 += k2 * m; t3 += k3 * m;
                s0 = zero; s1 = zero; s2 = zero; s3 = zero;
                g++;
                j = 0;
                i0 += group;
            }
        }
        y[o] = a0.reduceLanes(VectorOperators.ADD) - 8 * t0;
        y[o + 1] = a1.reduceLanes(VectorOperators.ADD) - 8 * t1;
        y[o + 2] = a2.reduceLanes(VectorOperators.ADD) - 8 * t2;
        y[o + 3] = a3.reduceLanes(VectorOperators.ADD) - 8 * t3;
    }

    /** Unsigned nibbles of the byte at {@code off} times the two inputs they feed. */
    private float nib(long off, float xl, float xh) {
        int v = weights.get(BYTE, off);
        return (v & 0x0F) * xl + ((v >> 4) & 0x0F) * xh;
    }

    private float row(float[] x, float[] xs, int o) {
        long r = o * rowBytes, c = (long) o * groups;
        FloatVector a = FloatVector.zero(F);
        float t = 0;
        for (int g = 0; g < groups; g++) {
            int i0 = g * group;
            long b = r + (long) g * half;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < halfVec; j += L) {
                ByteVector q = bytes(b + j);
                s = high(q).fma(FloatVector.fromArray(F, x, i0 + half + j), low(q).fma(FloatVector.fromArray(F, x, i0 + j), s));
            }
            float k = scale(c + g);
            a = s.fma(FloatVector.broadcast(F, k), a);
            float u = -8 * xs[g];
            for (int j = halfVec; j < half; j++) u += nib(b + j, x[i0 + j], x[i0 + half + j]);
            t += k * u;
        }
        return a.reduceLanes(VectorOperators.ADD) + t;
    }

    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = o * rowBytes, c = (long) o * groups;
        FloatVector eight = FloatVector.broadcast(F, 8f);
        for (int g = k0 / group, gEnd = k1 / group; g < gEnd; g++) {
            float s = scale(c + g);
            FloatVector sv = FloatVector.broadcast(F, s);
            long b = r + (long) g * half;
            int d = off + g * group - k0;
            int j = 0;
            for (; j < halfVec; j += L) {
                ByteVector q = bytes(b + j);
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

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        java.util.Objects.checkIndex(o, out);
        dequantizeRange(o, 0, in, dst, 0);
    }
}
