package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A random matrix in one encoding for tests: the raw bytes of its two regions, written by an
 * encoder written independently of the kernels straight from EncodingSpec's layout table, and
 * the weights {@code w[o][k]} those bytes mean, decoded in float64.
 */
record EncodedMatrix(EncodingSpec spec, int in, int out, byte[] weightBytes, byte[] scaleBytes, double[][] w) {

    static EncodedMatrix random(EncodingSpec spec, int in, int out, long seed) {
        spec.checkShape(in, out);
        SplittableRandom rnd = new SplittableRandom(seed);
        ByteBuffer wb = ByteBuffer.allocate((int) spec.weightBytes(in, out)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer sb = ByteBuffer.allocate((int) spec.scaleBytes(in, out)).order(ByteOrder.LITTLE_ENDIAN);
        double[][] w = new double[out][in];
        int g = spec.groupSize();
        boolean bf16Scales = "bf16".equals(spec.scaleType());
        // Scales first (row-major out × in/G), so weights can use them.
        double[][] scale = new double[out][g == 0 ? 0 : in / g];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < scale[o].length; j++) {
                float s = (float) ((rnd.nextDouble() * 0.09 + 0.01) * (rnd.nextBoolean() ? 1 : -1));
                short bits = bf16Scales ? (short) (Float.floatToRawIntBits(s) >>> 16) : Float.floatToFloat16(s);
                sb.putShort(bits);
                scale[o][j] = bf16Scales ? Float.intBitsToFloat((bits & 0xFFFF) << 16) : Float.float16ToFloat(bits);
            }
        }
        for (int o = 0; o < out; o++) {
            switch (spec.encoding()) {
                case null -> throw new NullPointerException(); // with case null, the compiler checks that every Encoding is handled
                case F32 -> {
                    for (int k = 0; k < in; k++) {
                        float v = (float) (rnd.nextDouble() * 2 - 1);
                        wb.putFloat(v);
                        w[o][k] = v;
                    }
                }
                case BF16 -> {
                    for (int k = 0; k < in; k++) {
                        short bits = (short) (Float.floatToRawIntBits((float) (rnd.nextDouble() * 2 - 1)) >>> 16);
                        wb.putShort(bits);
                        w[o][k] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
                    }
                }
                case INT8_ROWBLOCK, Q8 -> {
                    for (int k = 0; k < in; k++) {
                        byte q = (byte) rnd.nextInt(256);
                        wb.put(q);
                        w[o][k] = q * scale[o][k / g];
                    }
                }
                case Q4, Q4_0 -> {
                    for (int grp = 0; grp < in / g; grp++) {
                        for (int j = 0; j < g / 2; j++) {
                            int lo = rnd.nextInt(16), hi = rnd.nextInt(16);
                            wb.put((byte) (lo | hi << 4));
                            w[o][grp * g + j] = (lo - 8) * scale[o][grp];
                            w[o][grp * g + g / 2 + j] = (hi - 8) * scale[o][grp];
                        }
                    }
                }
                case Q4NL -> throw new IllegalArgumentException(spec.name() + ": random q4nl matrices come from Q4NlEncoder (see Q4NlMatrixTest)");
            }
        }
        return new EncodedMatrix(spec, in, out, wb.array(), sb.array(), w);
    }

    static float[] randomVector(int n, Random rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }

    /** Σ_k x[k]·w[o][k] in float64. */
    double ref(float[] x, int o) {
        double s = 0;
        for (int k = 0; k < in; k++) s += x[k] * w[o][k];
        return s;
    }

    /** Σ_k |x[k]·w[o][k]|: the scale of rounding error a float32 dot product may make. */
    double magnitude(float[] x, int o) {
        double s = 0;
        for (int k = 0; k < in; k++) s += Math.abs(x[k] * w[o][k]);
        return s;
    }
}
