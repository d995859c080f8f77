package grokkit.quant;

import java.util.Random;

/**
 * Encoder speed per core (one thread, per CPU-second of the thread), all in the same run on the same float matrix: q4nl
 * (statistics pass + rows), the project's q4 with plain absmax/7, and q4 with its scale search.
 * A source weight is one int8 byte, so M weights/s = MB/s of source. docs/benchmarks/int4.md.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp quant/target/classes:quant/target/test-classes \
 *     grokkit.quant.Q4NlEncodeBench 4096 1024</pre>
 */
public final class Q4NlEncodeBench {
    public static void main(String[] a) {
        int in = a.length > 0 ? Integer.parseInt(a[0]) : 4096, out = a.length > 1 ? Integer.parseInt(a[1]) : 1024;
        float[] src = new float[in * out];
        Random r = new Random(1);
        for (int i = 0; i < src.length; i++) src[i] = (float) (r.nextGaussian() * 0.02 * (i % in % 50 == 0 ? 5 : 1));
        EncodingSpec q4nl = EncodingSpec.q4nl(32), q4 = EncodingSpec.q4(32, "f16");
        RowEncoder absmax = RowEncoder.of(q4, Q4Encoder.ScaleChoice.ABSMAX), search = RowEncoder.of(q4, Q4Encoder.ScaleChoice.SEARCH);
        byte[] w = new byte[(int) q4.weightBytes(in, out)], s = new byte[(int) q4.scaleBytes(in, out)];
        double n = (double) in * out;
        // thread CPU time, not wall time: the machine is shared, and a descheduled thread is not slower
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int rep = 0, reps = a.length > 2 ? Integer.parseInt(a[2]) : 6; rep < reps; rep++) {
            long t0 = cpu.getCurrentThreadCpuTime();
            Q4NlEncoder.prepare(q4nl, src, in, out, null).encodeMatrix(src, out);
            long t1 = cpu.getCurrentThreadCpuTime();
            absmax.encodeRows(src, 0, out, in, w, 0, s, 0);
            long t2 = cpu.getCurrentThreadCpuTime();
            search.encodeRows(src, 0, out, in, w, 0, s, 0);
            long t3 = cpu.getCurrentThreadCpuTime();
            System.out.printf(java.util.Locale.ROOT,
                    "M weights/CPU-s: q4nl %.1f, q4 absmax %.1f, q4 search %.1f | time ratio q4nl/absmax %.2f, search/absmax %.2f%n",
                    n / ((t1 - t0) / 1e3), n / ((t2 - t1) / 1e3), n / ((t3 - t2) / 1e3),
                    (double) (t1 - t0) / (t2 - t1), (double) (t3 - t2) / (t2 - t1));
        }
    }
}
