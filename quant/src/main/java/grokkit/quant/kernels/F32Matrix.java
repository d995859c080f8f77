package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/** {@code f32}: out×in little-endian float32, out-major. */
final class F32Matrix extends SegmentMatrix {
    private final long rowBytes;

    F32Matrix(MemorySegment weights, int in, int out) {
        super(EncodingSpec.f32(), weights, MemorySegment.NULL, in, out);
        this.rowBytes = 4L * in;
    }

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        checkMatvec(x, y, from, to);
        int o = from;
        for (; o + 4 <= to; o += 4) rows4(x, y, o);
        for (; o < to; o++) y[o] = row(x, o);
    }

    private void rows4(float[] x, float[] y, int o) {
        long r0 = o * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int bound = F.loopBound(in); i < bound; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, i);
            long d = 4L * i;
            a0 = FloatVector.fromMemorySegment(F, weights, r0 + d, LE).fma(xv, a0);
            a1 = FloatVector.fromMemorySegment(F, weights, r1 + d, LE).fma(xv, a1);
            a2 = FloatVector.fromMemorySegment(F, weights, r2 + d, LE).fma(xv, a2);
            a3 = FloatVector.fromMemorySegment(F, weights, r3 + d, LE).fma(xv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < in; i++) {
            long d = 4L * i;
            s0 += x[i] * weights.get(LE_FLOAT, r0 + d);
            s1 += x[i] * weights.get(LE_FLOAT, r1 + d);
            s2 += x[i] * weights.get(LE_FLOAT, r2 + d);
            s3 += x[i] * weights.get(LE_FLOAT, r3 + d);
        }
        y[o] = s0; y[o + 1] = s1; y[o + 2] = s2; y[o + 3] = s3;
    }

    private float row(float[] x, int o) {
        long r = o * rowBytes;
        FloatVector a = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(in); i < bound; i += L) {
            a = FloatVector.fromMemorySegment(F, weights, r + 4L * i, LE).fma(FloatVector.fromArray(F, x, i), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (; i < in; i++) s += x[i] * weights.get(LE_FLOAT, r + 4L * i);
        return s;
    }

    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = o * rowBytes;
        int n = k1 - k0, i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromMemorySegment(F, weights, r + 4L * (k0 + i), LE).intoArray(dst, off + i);
        }
        for (; i < n; i++) dst[off + i] = weights.get(LE_FLOAT, r + 4L * (k0 + i));
    }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        java.util.Objects.checkIndex(o, out);
        long r = o * rowBytes;
        for (int i = 0; i < in; i++) dst[i] = weights.get(LE_FLOAT, r + 4L * i);
    }
}
