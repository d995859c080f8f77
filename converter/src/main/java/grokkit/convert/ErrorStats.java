package grokkit.convert;

import grokkit.quant.Dequantizer;
import grokkit.quant.EncodingSpec;
import grokkit.quant.Halfs;

import java.lang.foreign.MemorySegment;

/**
 * Σw² and Σ(w'−w)² in float64 for a tile: {@code x} the source values (out-major rows), the
 * tile's encoded bytes decoded back. The q4 and bf16 paths decode the byte arrays directly
 * (they run over every expert weight); other encodings use {@link Dequantizer}.
 */
final class ErrorStats {
    private ErrorStats() {}

    /** Returns {Σw², Σ(w'−w)²}. */
    static double[] of(EncodingSpec spec, float[] x, int rows, int in, byte[] w, byte[] s) {
        double sum = 0, err = 0;
        // A ragged q4_0 row (in not a multiple of 32) takes the generic path below.
        String path = (spec.name().equals(EncodingSpec.Q4_0) && in % spec.groupSize() != 0) ? "generic" : spec.name();
        switch (path) {
            case EncodingSpec.Q4, EncodingSpec.Q4_0 -> {
                int g = spec.groupSize(), half = g / 2, groups = rows * in / g;
                String st = spec.scaleType();
                for (int k = 0; k < groups; k++) {
                    float sc = Halfs.fromScale((short) ((s[2 * k] & 0xff) | (s[2 * k + 1] << 8)), st);
                    int xb = k * g, wb = k * half;
                    for (int j = 0; j < half; j++) {
                        int b = w[wb + j] & 0xff;
                        double a = x[xb + j], c = x[xb + half + j];
                        double da = ((b & 15) - 8) * sc - a, dc = ((b >>> 4) - 8) * sc - c;
                        sum += a * a + c * c;
                        err += da * da + dc * dc;
                    }
                }
            }
            case EncodingSpec.BF16 -> {
                for (int i = 0; i < rows * in; i++) {
                    double a = x[i];
                    double d = Halfs.bf16ToFloat((short) ((w[2 * i] & 0xff) | (w[2 * i + 1] << 8))) - a;
                    sum += a * a;
                    err += d * d;
                }
            }
            default -> {
                float[] row = new float[in];
                MemorySegment ws = MemorySegment.ofArray(w), ss = MemorySegment.ofArray(s);
                for (int t = 0; t < rows; t++) {
                    Dequantizer.row(spec, ws, ss, in, t, row);
                    for (int i = 0; i < in; i++) {
                        double a = x[t * in + i], d = row[i] - a;
                        sum += a * a;
                        err += d * d;
                    }
                }
            }
        }
        return new double[] {sum, err};
    }
}
