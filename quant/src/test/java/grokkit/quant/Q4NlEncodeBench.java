package grokkit.quant;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Random;

/**
 * Encoder speed per core (one thread), all in the same run on the same float matrix: q4nl (its
 * channel-statistics pass, then the rows), the project's q4 with plain absmax/7 (the baseline of
 * issue 6's "≤ 2× plain absmax"), and q4 with its scale search; also q4nl's error sums (what the
 * converter's report adds). Timed in CPU seconds of the thread, so that a shared machine's other
 * jobs do not count. A source weight is one int8 byte: M weights per CPU-second = MB/s of source
 * per core. docs/benchmarks/int4.md.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp quant/target/classes:quant/target/test-classes \
 *     grokkit.quant.Q4NlEncodeBench 4096 1024 30</pre>
 * (in, out, repetitions; the first third are warm-up and not reported).
 */
public final class Q4NlEncodeBench {
    public static void main(String[] a) {
        int in = a.length > 0 ? Integer.parseInt(a[0]) : 4096, out = a.length > 1 ? Integer.parseInt(a[1]) : 1024;
        int reps = a.length > 2 ? Integer.parseInt(a[2]) : 30;
        float[] src = new float[in * out];
        Random r = new Random(1);
        for (int i = 0; i < src.length; i++) src[i] = (float) (r.nextGaussian() * 0.02 * (i % in % 50 == 0 ? 5 : 1));
        EncodingSpec q4nl = EncodingSpec.q4nl(32), q4 = EncodingSpec.q4(32, "f16");
        RowEncoder absmax = RowEncoder.of(q4, Q4Encoder.ScaleChoice.ABSMAX), search = RowEncoder.of(q4, Q4Encoder.ScaleChoice.SEARCH);
        byte[] w = new byte[(int) q4.weightBytes(in, out)], s = new byte[(int) q4.scaleBytes(in, out)];
        byte[] nw = new byte[(int) q4nl.weightBytes(in, out)], ns = new byte[(int) q4nl.scaleBytes(in, out)];
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        double n = (double) in * out;
        double[] total = new double[5];
        int counted = 0;
        for (int rep = 0; rep < reps; rep++) {
            long t0 = cpu.getCurrentThreadCpuTime();
            Q4NlEncoder enc = Q4NlEncoder.prepare(q4nl, new Q4NlEncoder.ChannelStats(in).addRows(src, 0, out), null);
            long t1 = cpu.getCurrentThreadCpuTime();
            enc.writeHeader(ns, 0);
            enc.encodeRows(src, 0, out, nw, 0, ns, enc.headerBytes());
            long t2 = cpu.getCurrentThreadCpuTime();
            absmax.encodeRows(src, 0, out, in, w, 0, s, 0);
            long t3 = cpu.getCurrentThreadCpuTime();
            search.encodeRows(src, 0, out, in, w, 0, s, 0);
            long t4 = cpu.getCurrentThreadCpuTime();
            Q4Nl.errorSums(q4nl, src, out, in, nw, ns);
            long t5 = cpu.getCurrentThreadCpuTime();
            double[] ns5 = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4};
            System.out.printf(Locale.ROOT, "rep %2d ns/weight: q4nl stats %.2f + rows %.2f | q4 absmax %.2f | q4 search %.2f | q4nl error sums %.2f%n",
                    rep, ns5[0] / n, ns5[1] / n, ns5[2] / n, ns5[3] / n, ns5[4] / n);
            if (rep >= reps / 3) {
                for (int k = 0; k < 5; k++) total[k] += ns5[k];
                counted++;
            }
        }
        double q4nlNs = (total[0] + total[1]) / counted / n, absNs = total[2] / counted / n, searchNs = total[3] / counted / n;
        System.out.printf(Locale.ROOT, "mean of the last %d: M weights per CPU-second: q4nl %.0f (stats %.0f, rows %.0f), q4 absmax %.0f, q4 search %.0f;"
                        + " time ratio q4nl / absmax %.2f, search / absmax %.2f; q4nl error sums %.2f ns/weight%n",
                counted, 1e3 / q4nlNs, 1e3 / (total[0] / counted / n), 1e3 / (total[1] / counted / n), 1e3 / absNs, 1e3 / searchNs,
                q4nlNs / absNs, searchNs / absNs, total[4] / counted / n);
    }
}
