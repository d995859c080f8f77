package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Compute throughput of one kernel on one core with its matrix hot in L2 (keep it ≤ 1 MB): the
 * "hot" figures of docs/benchmarks/kernels.md. Random bytes (scales made normal numbers), best
 * time over the run; run ≥ 8 s on a loaded machine so C2 has compiled the kernel.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp quant/target/classes:quant/target/test-classes \
 *     grokkit.quant.kernels.KernelHotBench q4nl 4096 256 8          # matvec, Gweights/s
 * java ... grokkit.quant.kernels.KernelHotBench q4nl 2048 512 8 64  # prefill with T = 64, GFLOP/s</pre>
 *
 * Encodings: int8 (per-column scales), int8rb8 (8 row blocks), q4 (G 32, bf16), q4_0, q4nl (G 32).
 */
public final class KernelHotBench {
    public static void main(String[] a) {
        String enc = a[0];
        int in = Integer.parseInt(a[1]), out = Integer.parseInt(a[2]);
        double seconds = Double.parseDouble(a[3]);
        int tokens = a.length > 4 ? Integer.parseInt(a[4]) : 1;
        // "int8rb8" is int8-rowblock with 8 row blocks; every other name is an encoding's.
        EncodingSpec spec = enc.equals("int8rb8") ? EncodingSpec.int8RowBlock(in, 8) : switch (grokkit.quant.Encoding.of(enc)) {
            case INT8_ROWBLOCK -> EncodingSpec.int8RowBlock(in, 1);
            case Q4 -> EncodingSpec.q4(32, "bf16");
            case Q4_0 -> EncodingSpec.q4_0();
            case Q4NL -> EncodingSpec.q4nl(32);
            case F32, BF16, Q8 -> throw new IllegalArgumentException("not benchmarked here: " + enc);
        };
        try (Arena arena = Arena.ofConfined()) {
            long wb = spec.weightBytes(in, out), sb = spec.scaleBytes(in, out);
            MemorySegment w = arena.allocate(wb, 64), s = arena.allocate(sb, 64);
            SplittableRandom r = new SplittableRandom(1);
            for (long i = 0; i < wb; i++) w.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
            // 0bs0_1111_xx bytes: every 16-bit scale (f16, bf16) and q4nl channel scale is a normal number near 1.
            for (long i = 0; i < sb; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) ((r.nextInt() & 0x83) | 0x3C));
            if (spec.encoding() == grokkit.quant.Encoding.Q4NL) s.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, 1f / 64);
            WeightMatrix m = Kernels.open(spec, w, s, in, out);
            float[][] x = new float[tokens][in], y = new float[tokens][out];
            for (float[] row : x) for (int i = 0; i < in; i++) row[i] = (float) r.nextDouble();
            long end = System.nanoTime() + (long) (seconds * 1e9);
            double best = Double.MAX_VALUE, bestPrep = Double.MAX_VALUE;
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                if (tokens == 1) m.matvec(x[0], y[0], 0, out);
                else {
                    WeightMatrix.PreparedInputs p = m.prepareInputs(x);
                    long t1 = System.nanoTime();
                    m.matmul(x, p, y, 0, out);
                    bestPrep = Math.min(bestPrep, t1 - t0);
                }
                best = Math.min(best, System.nanoTime() - t0);
            }
            if (tokens > 1) System.out.printf("prepareInputs best %.3f ms%n", bestPrep / 1e6);
            double weights = (double) in * out;
            if (tokens == 1) System.out.printf("%s %dx%d matvec best %.1f us  %.2f Gweights/s%n", enc, in, out, best / 1e3, weights / best);
            else System.out.printf("%s %dx%d prefill T=%d best %.2f ms  %.1f GFLOP/s%n", enc, in, out, tokens, best / 1e6, 2 * weights * tokens / best);
        }
    }
}
