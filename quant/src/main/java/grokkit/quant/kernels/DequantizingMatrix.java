package grokkit.quant.kernels;

import grokkit.quant.Dequantizer;
import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A simple kernel for layouts that have no fused one: decodes each output row with the scalar
 * {@link Dequantizer} and takes a vector dot product. Used for {@code q4_0} with a ragged last
 * block (the Q4_0 baseline on fixtures whose ffn is not a multiple of 32), where speed does not
 * matter but the numbers must be exactly Q4_0's.
 */
final class DequantizingMatrix implements WeightMatrix {
    private final EncodingSpec spec;
    private final MemorySegment weights, scales;
    private final int in, out;

    DequantizingMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        this.spec = spec;
        this.weights = weights;
        this.scales = scales;
        this.in = in;
        this.out = out;
    }

    @Override public int inDim() { return in; }
    @Override public int outDim() { return out; }
    @Override public String encoding() { return spec.name(); }
    @Override public long byteSize() { return spec.weightBytes(in, out) + spec.scaleBytes(in, out); }

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        if (x.length < in) throw new IllegalArgumentException("x has " + x.length + " elements, need in=" + in);
        float[] w = new float[in];
        for (int o = from; o < to; o++) {
            Dequantizer.row(spec, weights, scales, in, o, w);
            y[o] = SegmentMatrix.dot(x, 0, w, 0, in);
        }
    }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        Objects.checkIndex(o, out);
        Dequantizer.row(spec, weights, scales, in, o, dst);
    }
}
