package grokkit.runtime;

import grokkit.quant.WeightMatrix;

/** Test weights: a float32 matrix, logically [in, out], stored out-major like every encoding. */
final class DenseMatrix implements WeightMatrix {
    private final int in, out;
    private final float[] data; // data[o * in + i] = W[i, o]

    DenseMatrix(int in, int out, float[] outMajor) {
        if (outMajor.length != in * out) throw new IllegalArgumentException("size");
        this.in = in;
        this.out = out;
        this.data = outMajor;
    }

    /** W[i, o]. */
    float get(int i, int o) {
        return data[o * in + i];
    }

    @Override public int inDim() { return in; }
    @Override public int outDim() { return out; }
    @Override public String encoding() { return "f32"; }
    @Override public long byteSize() { return 4L * data.length; }

    @Override
    public void matvec(float[] x, float[] y, int from, int to) {
        for (int o = from; o < to; o++) {
            float s = 0;
            int base = o * in;
            for (int i = 0; i < in; i++) s += x[i] * data[base + i];
            y[o] = s;
        }
    }

    @Override
    public void dequantizeColumn(int o, float[] dst) {
        System.arraycopy(data, o * in, dst, 0, in);
    }
}
