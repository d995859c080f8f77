package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import jdk.incubator.vector.FloatVector;

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
        float[] lanes = new float[4 * L];
        int o = from;
        for (; o + 4 <= to; o += 4) rows4(x, y, o, lanes);
        for (; o < to; o++) y[o] = row(x, o, lanes);
    }

    private void rows4(float[] x, float[] y, int o, float[] lanes) {
        long r0 = o * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0, bound = vectorFeatures(); i < bound; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, i);
            long d = 4L * i;
            a0 = FloatVector.fromMemorySegment(F, weights, r0 + d, LE).fma(xv, a0);
            a1 = FloatVector.fromMemorySegment(F, weights, r1 + d, LE).fma(xv, a1);
            a2 = FloatVector.fromMemorySegment(F, weights, r2 + d, LE).fma(xv, a2);
            a3 = FloatVector.fromMemorySegment(F, weights, r3 + d, LE).fma(xv, a3);
        }
        a0.intoArray(lanes, 0); a1.intoArray(lanes, L); a2.intoArray(lanes, 2 * L); a3.intoArray(lanes, 3 * L);
        for (int r = 0; r < 4; r++) y[o + r] = finish(o + r, tree(lanes, r * L), x, null);
    }

    private float row(float[] x, int o, float[] lanes) {
        long r = o * rowBytes;
        FloatVector a = FloatVector.zero(F);
        for (int i = 0, bound = vectorFeatures(); i < bound; i += L) {
            a = FloatVector.fromMemorySegment(F, weights, r + 4L * i, LE).fma(FloatVector.fromArray(F, x, i), a);
        }
        a.intoArray(lanes, 0);
        return finish(o, tree(lanes, 0), x, null);
    }

    @Override int vectorFeatures() { return F.loopBound(in); }
    @Override int featureGroup() { return 0; }

    @Override
    void featureWeights(int o, int f0, int f1, float[] dst, int off) {
        dequantizeRange(o, f0, f1, dst, off);
    }

    /** The inputs past the last whole vector, added one by one after the tree. */
    @Override
    float finish(int o, float lanes, float[] x, float[] prepared) {
        long r = o * rowBytes;
        float s = lanes;
        for (int i = vectorFeatures(); i < in; i++) s += x[i] * weights.get(LE_FLOAT, r + 4L * i);
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
