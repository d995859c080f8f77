package grokkit.quant;


import java.util.Random;
/** Encoder speed: q4nl vs a plain absmax/7 q4 loop on the same matrix, same run (see docs/benchmarks/int4.md). */
public class Q4NlEncodeBench {
    /** Plain absmax/7 q4 (the speed baseline): amax, one scale, round, pack. */
    static void absmax(float[] src, int n, byte[] w, short[] s) {
        for (int g = 0; g < n / 32; g++) {
            int b = g * 32; float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[b + j]));
            float d = Float.float16ToFloat(Float.floatToFloat16(amax / 7)), inv = d == 0 ? 0 : 1 / d;
            s[g] = Float.floatToFloat16(d);
            for (int j = 0; j < 16; j++) {
                int lo = Math.clamp(Math.round(src[b + j] * inv), -8, 7) + 8, hi = Math.clamp(Math.round(src[b + 16 + j] * inv), -8, 7) + 8;
                w[g * 16 + j] = (byte) (lo | hi << 4);
            }
        }
    }
    public static void main(String[] a) {
        int in = Integer.parseInt(a[0]), out = Integer.parseInt(a[1]);
        float[] src = new float[in * out];
        Random r = new Random(1);
        for (int i = 0; i < src.length; i++) src[i] = (float) (r.nextGaussian() * 0.02);
        EncodingSpec spec = EncodingSpec.q4nl(32);
        byte[] w = new byte[src.length / 2]; short[] s = new short[src.length / 32];
        for (int rep = 0; rep < 6; rep++) {
            long t0 = System.nanoTime();
            Q4NlEncoder e = Q4NlEncoder.prepare(spec, src, in, out, null);
            byte[][] b = e.encodeMatrix(src, out);
            long t1 = System.nanoTime();
            absmax(src, src.length, w, s);
            long t2 = System.nanoTime();
            double n = (double) in * out;
            System.out.printf("q4nl %.1f M weights/s, absmax %.1f M weights/s, ratio absmax/q4nl time %.1f%n",
                n / ((t1 - t0) / 1e3), n / ((t2 - t1) / 1e3), (double) (t1 - t0) / (t2 - t1));
        }
    }
}
