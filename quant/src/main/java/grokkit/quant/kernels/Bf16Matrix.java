package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * {@code bf16}: out×in little-endian bfloat16, out-major. A bf16 is the upper half of a
 * float32, so widening is a sign-extend to int lanes, a shift left by 16 and a reinterpret.
 */
final class Bf16Matrix extends SegmentMatrix {
    private final long rowBytes;

    Bf16Matrix(MemorySegment weights, int in, int out) {
        super(EncodingSpec.bf16(), weights, MemorySegment.NULL, in, out);
        this.rowBytes = 2L * in;
    }

    /** L bf16 weights at byte offset {@code off}, as floats. */
    private FloatVector load(long off) {
        return ShortVector.fromMemorySegment(S, weights, off, LE)
                .convertShape(VectorOperators.S2I, I, 0)
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    private float scalar(long off) {
        return bf16ToFloat(weights.get(LE_SHORT, off));
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
            long d = 2L * i;
            a0 = load(r0 + d).fma(xv, a0);
            a1 = load(r1 + d).fma(xv, a1);
            a2 = load(r2 + d).fma(xv, a2);
            a3 = load(r3 + d).fma(xv, a3);
        }
        a0.intoArray(lanes, 0); a1.intoArray(lanes, L); a2.intoArray(lanes, 2 * L); a3.intoArray(lanes, 3 * L);
        for (int r = 0; r < 4; r++) y[o + r] = finish(o + r, tree(lanes, r * L), x, null);
    }

    private float row(float[] x, int o, float[] lanes) {
        long r = o * rowBytes;
        FloatVector a = FloatVector.zero(F);
        for (int i = 0, bound = vectorFeatures(); i < bound; i += L) {
            a = load(r + 2L * i).fma(FloatVector.fromArray(F, x, i), a);
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
        for (int i = vectorFeatures(); i < in; i++) s += x[i] * scalar(r + 2L * i);
        return s;
    }

    @Override
    void dequantizeRange(int o, int k0, int k1, float[] dst, int off) {
        long r = o * rowBytes;
        int n = k1 - k0, i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) load(r + 2L * (k0 + i)).intoArray(dst, off + i);
        for (; i < n; i++) dst[off + i] = scalar(r + 2L * (k0 + i));
    }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        java.util.Objects.checkIndex(o, out);
        long r = o * rowBytes;
        for (int i = 0; i < in; i++) dst[i] = scalar(r + 2L * i);
    }
}
