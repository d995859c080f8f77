package grokkit.quant;

import java.lang.foreign.MemorySegment;

/**
 * A minimal {@link WeightMatrix} over the encoded regions that dequantizes each row with
 * {@link Dequantizer}. It stands in for the Vector API kernels ({@code grokkit.quant.kernels})
 * wherever correctness, not speed, matters.
 */
public final class ScalarMatrices {
    private ScalarMatrices() {}

    /** A matrix {@code [in, out]} of encoding {@code spec} over its weights and scales regions. */
    public static WeightMatrix open(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        spec.checkShape(in, out);
        long need = spec.weightBytes(in, out), needScales = spec.scaleBytes(in, out);
        if (weights.byteSize() < need)
            throw new IllegalArgumentException(spec.name() + " [" + in + "," + out + "]: weights region has " + weights.byteSize() + " bytes, needs " + need);
        if (needScales > 0 && (scales == null || scales.byteSize() < needScales))
            throw new IllegalArgumentException(spec.name() + " [" + in + "," + out + "]: scales region too small, needs " + needScales);
        return new Scalar(spec, weights, scales, in, out);
    }

    /**
     * A float32 matrix {@code [in, out]} held out-major on the heap ({@code outMajor[o·in + i] =
     * W[i, o]}, like every encoding), multiplied in plain scalar code: the reference weights of
     * tests that build models without a shard.
     */
    public static WeightMatrix ofFloats(int in, int out, float[] outMajor) {
        if (outMajor.length != (long) in * out)
            throw new IllegalArgumentException("[" + in + "," + out + "] needs " + (long) in * out + " floats, got " + outMajor.length);
        return new Dense(in, out, outMajor);
    }

    private record Dense(int in, int out, float[] data) implements WeightMatrix {
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

    private record Scalar(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) implements WeightMatrix {
        @Override public int inDim() { return in; }
        @Override public int outDim() { return out; }
        @Override public String encoding() { return spec.name(); }
        @Override public long byteSize() { return spec.weightBytes(in, out) + spec.scaleBytes(in, out); }

        @Override
        public void matvec(float[] x, float[] y, int from, int to) {
            float[] row = new float[in];
            for (int o = from; o < to; o++) {
                Dequantizer.row(spec, weights, scales, in, o, row);
                float acc = 0;
                for (int i = 0; i < in; i++) acc = Math.fma(x[i], row[i], acc);
                y[o] = acc;
            }
        }

        @Override
        public void dequantizeColumn(int o, float[] dst) {
            Dequantizer.row(spec, weights, scales, in, o, dst);
        }
    }
}
