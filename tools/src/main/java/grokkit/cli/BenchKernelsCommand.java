package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.quant.Encoding;
import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.Kernels;
import grokkit.quant.kernels.MemoryBandwidth;
import grokkit.quant.kernels.ParallelMatmul;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code grok bench kernels}: GB/s of each kernel's matrix-vector product at Grok-1 expert
 * shapes, with weights far larger than the caches and cold on every repeat, as a ratio of the
 * read bandwidth a streaming int8 sum reaches over the same bytes in the same run; plus the
 * prefill (matrix-matrix, T tokens) throughput.
 *
 * <p>Cold weights: each (encoding, shape) lays out enough distinct copies of the matrix in one
 * off-heap arena to exceed {@code --cold-mb} (default 1 GiB, ≫ L3) and rotates through them,
 * interleaving the bandwidth probe and the kernel so both see the same machine state.
 */
@Command(name = "kernels",
        mixinStandardHelpOptions = true,
        description = {
                "Kernel matrix-vector GB/s at Grok-1 expert shapes against the memory bandwidth.",
                "The read bandwidth is measured in the same run over the same bytes; also the prefill (matrix-matrix)",
                "throughput. Needs about 1.7 GB of RAM with the default encodings."},
        footerHeading = "%nExample:%n",
        footer = {"  grok bench kernels --encodings int8-rowblock,q4nl --threads 1,2 --markdown kernels.md"})
public final class BenchKernelsCommand implements Callable<Integer> {

    @Option(names = "--encodings", split = ",", paramLabel = "ENC",
            defaultValue = "int8-rowblock,q8:32:f16,q4:32:bf16,q4_0,bf16,f32",
            description = "Encodings: int8-rowblock[:ROWBLOCKS] (default: Grok-1's, 8 row blocks when in > out, else 1), "
                    + "q8:G:SCALE, q4:G:SCALE, q4_0, q4nl[:G] (default G 32), bf16, f32. Default: ${DEFAULT-VALUE}.")
    List<String> encodings;

    @Option(names = "--shapes", split = ",", paramLabel = "INxOUT", defaultValue = "6144x32768,32768x6144",
            description = "Matrix shapes in×out (y = x·W). Default: ${DEFAULT-VALUE} (Grok-1 expert up/down projections).")
    List<String> shapes;

    @Option(names = "--threads", split = ",", defaultValue = "1,2", paramLabel = "N[,N...]",
            description = "Thread counts to run, each 1 to min(1024, max(16, 4 × processors)). Default: ${DEFAULT-VALUE}.")
    List<Integer> threads;

    @Option(names = "--repeats", defaultValue = "20", paramLabel = "N", description = "Timed matrix-vector products per case (median reported). Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Option(names = "--prefill-tokens", defaultValue = "64", paramLabel = "N", description = "T for the prefill matrix-matrix product; 0 skips it. Default: ${DEFAULT-VALUE}.")
    int prefillTokens;

    @Option(names = "--prefill-repeats", defaultValue = "2", paramLabel = "N", description = "Timed prefill products per case. Default: ${DEFAULT-VALUE}.")
    int prefillRepeats;

    @Option(names = "--cold-mb", defaultValue = "1024", paramLabel = "N",
            description = "Minimum MiB of distinct weight copies rotated through, so every repeat reads from DRAM. Default: ${DEFAULT-VALUE}.")
    long coldMb;

    @Option(names = "--warmup-seconds", defaultValue = "2", paramLabel = "S",
            description = "Minimum warm-up per case, so C2 has compiled the kernel before timing. Default: ${DEFAULT-VALUE}.")
    double warmupSeconds;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Also write the results as a Markdown table to FILE.")
    Path markdown;

    private final PrintStream out = System.out;

    /** One benchmarked matrix: the spec and its copies' offsets in the arena. */
    private record Case(String label, EncodingSpec spec, int in, int out, long stride, int copies) {
        long bytes() { return spec.weightBytes(in, out) + spec.scaleBytes(in, out); }
    }

    /** One row of the results table. */
    private record Row(Case c, int threads, double matvecMs, double probeGBs, double bestRatio, double cpuRatio, double prefillMs) {
        double gbs() { return c.bytes() / (matvecMs * 1e6); }
        double ratio() { return gbs() / probeGBs; }
        double gweights() { return (double) c.in() * c.out() / (matvecMs * 1e6); }
    }

    @Override
    public Integer call() throws Exception {
        List<Case> cases = plan();
        for (int t : threads) if (ThreadsOption.problem(t) != null) throw new BadInputException(ThreadsOption.problem(t));
        if (repeats < 1) throw new BadInputException("--repeats must be ≥ 1, got " + repeats);
        long arenaBytes = cases.stream().mapToLong(c -> c.stride() * c.copies()).max().orElse(0);
        printHeader(arenaBytes);
        List<Row> rows = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment mem = arena.allocate(arenaBytes, 4096);
            fill(mem);
            for (Case c : cases) {
                WeightMatrix[] copies = open(c, mem);
                for (int t : threads) {
                    try (ParallelMatmul pool = new ParallelMatmul(t)) {
                        Row row = measure(c, copies, mem, pool);
                        rows.add(row);
                        out.println(format(row));
                        out.flush();
                    }
                }
            }
        }
        out.println();
        String table = table(rows);
        out.print(table);
        String summary = summary(rows);
        out.print(summary);
        out.printf(Locale.ROOT, "load average at end: %.2f%n", load());
        if (markdown != null) writeMarkdown(table + "\n" + summary);
        return ExitCodes.OK;
    }

    private List<Case> plan() throws BadInputException {
        List<Case> cases = new ArrayList<>();
        long cold = coldMb << 20;
        for (String shape : shapes) {
            String[] p = shape.toLowerCase(Locale.ROOT).split("x");
            int in, outDim;
            try {
                if (p.length != 2) throw new NumberFormatException();
                in = Integer.parseInt(p[0].trim());
                outDim = Integer.parseInt(p[1].trim());
            } catch (NumberFormatException e) {
                throw new BadInputException("--shapes: expected IN x OUT like 6144x32768, got '" + shape + "'");
            }
            if (in <= 0 || outDim <= 0) throw new BadInputException("--shapes: dimensions must be positive: '" + shape + "'");
            for (String enc : encodings) {
                EncodingSpec spec = parseEncoding(enc.trim(), in, outDim);
                try {
                    spec.checkShape(in, outDim);
                } catch (IllegalArgumentException e) {
                    throw new BadInputException("--encodings " + enc + " with --shapes " + shape + ": " + e.getMessage());
                }
                long w = align(spec.weightBytes(in, outDim), 64);
                long stride = align(w + spec.scaleBytes(in, outDim), 4096);
                int copies = (int) Math.max(2, (cold + stride - 1) / stride);
                cases.add(new Case(enc.trim(), spec, in, outDim, stride, copies));
            }
        }
        return cases;
    }

    static EncodingSpec parseEncoding(String s, int in, int out) throws BadInputException {
        String[] p = s.split(":");
        try {
            Encoding e = Encoding.lookup(p[0]);
            if (e == null)
                throw new BadInputException("--encodings: unknown encoding '" + s
                        + "' (known: int8-rowblock, q8:G:SCALE, q4:G:SCALE, q4_0, q4nl[:G], bf16, f32)");
            return switch (e) {
                case F32 -> only(p, EncodingSpec.f32(), s);
                case BF16 -> only(p, EncodingSpec.bf16(), s);
                case Q4_0 -> only(p, EncodingSpec.q4_0(), s);
                case Q4NL -> {
                    if (p.length > 2) throw new BadInputException("--encodings " + s + ": expected q4nl or q4nl:GROUP");
                    yield EncodingSpec.q4nl(p.length == 2 ? Integer.parseInt(p[1]) : 32);
                }
                case INT8_ROWBLOCK -> {
                    int blocks = p.length > 1 ? Integer.parseInt(p[1]) : (in > out ? 8 : 1);
                    if (blocks <= 0 || in % blocks != 0) throw new BadInputException("--encodings " + s + ": row blocks must divide in=" + in);
                    yield EncodingSpec.int8RowBlock(in, blocks);
                }
                case Q8, Q4 -> {
                    if (p.length != 3 || !(p[2].equals("f16") || p[2].equals("bf16")))
                        throw new BadInputException("--encodings " + s + ": expected " + p[0] + ":GROUP:f16|bf16, e.g. " + p[0] + ":32:bf16");
                    int g = Integer.parseInt(p[1]);
                    yield e == Encoding.Q8 ? EncodingSpec.q8(g, p[2]) : EncodingSpec.q4(g, p[2]);
                }
            };
        } catch (NumberFormatException e) {
            throw new BadInputException("--encodings " + s + ": not a number: " + e.getMessage());
        }
    }

    private static EncodingSpec only(String[] p, EncodingSpec spec, String s) throws BadInputException {
        if (p.length != 1) throw new BadInputException("--encodings " + s + ": " + p[0] + " takes no parameters");
        return spec;
    }

    private static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    private static WeightMatrix[] open(Case c, MemorySegment mem) {
        WeightMatrix[] m = new WeightMatrix[c.copies()];
        long w = c.spec().weightBytes(c.in(), c.out()), s = c.spec().scaleBytes(c.in(), c.out());
        for (int i = 0; i < m.length; i++) {
            long base = i * c.stride();
            MemorySegment scales = s == 0 ? MemorySegment.NULL : mem.asSlice(base + align(w, 64), s);
            // q4nl's header starts with its float32 base scale, which must be positive (the
            // filler's channel scales and group-scale bytes are valid as they are).
            if (c.spec().encoding() == Encoding.Q4NL) scales.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0, 1f / 64);
            m[i] = Kernels.open(c.spec(), mem.asSlice(base, w), scales, c.in(), c.out());
        }
        return m;
    }

    /**
     * Fills memory with bytes that are valid, normal numbers under every interpretation (int8,
     * nibbles, f16/bf16 scales, bf16 and f32 weights): each byte is {@code 0bs0_1111_xx} (random sign s and low bits x), so
     * no denormal or NaN ever slows a floating-point unit down. Kernel timing does not depend on
     * the values otherwise.
     */
    private static void fill(MemorySegment mem) {
        long longs = mem.byteSize() / 8;
        int pieces = 256;
        long per = (longs + pieces - 1) / pieces;
        try (ParallelMatmul pool = new ParallelMatmul(Runtime.getRuntime().availableProcessors())) {
            pool.forRange(pieces, (from, to) -> {
                for (int p = from; p < to; p++) {
                    SplittableRandom rnd = new SplittableRandom(p);
                    for (long i = p * per, end = Math.min(longs, i + per); i < end; i++) {
                        long r = rnd.nextLong();
                        mem.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, (r & 0x8383838383838383L) | 0x3C3C3C3C3C3C3C3CL);
                    }
                }
            });
        }
    }

    private Row measure(Case c, WeightMatrix[] copies, MemorySegment mem, ParallelMatmul pool) {
        float[] x = randomVector(c.in(), 1);
        float[] y = new float[c.out()];
        int n = copies.length;
        // Warm-up: C2 must have compiled the kernel and the probe before timing (Vector API code
        // runs orders of magnitude slower interpreted or in C1). A C2 compile can take many
        // seconds on a loaded machine, so warm up until the JIT has been quiet for a while and
        // the call time is stable.
        long warmStart = System.nanoTime();
        double best = Double.MAX_VALUE;
        JitWatch jit = new JitWatch();
        for (int i = 0; ; i++) {
            long t0 = System.nanoTime();
            pool.matvec(copies[i % n], x, y);
            double ms = (System.nanoTime() - t0) / 1e6;
            best = Math.min(best, ms);
            probe(pool, mem, (i % n) * c.stride(), c.bytes(), new LongAdder());
            double elapsed = (System.nanoTime() - warmStart) / 1e9;
            boolean quiet = warmupSeconds <= 0 || jit.quietFor(1.5);
            if (elapsed > Math.max(60, 10 * warmupSeconds) || (i >= 10 && elapsed >= warmupSeconds && quiet && ms < 1.3 * best)) break;
        }
        double[] kernel = new double[repeats], probe = new double[repeats];
        double[] kernelCpu = new double[repeats], probeCpu = new double[repeats];
        long sink = 0;
        for (int r = 0; r < repeats; r++) {
            int a = (2 * r) % n, b = (2 * r + 1) % n;
            LongAdder pc = new LongAdder(), kc = new LongAdder();
            long t0 = System.nanoTime();
            sink += probe(pool, mem, a * c.stride(), c.bytes(), pc);
            long t1 = System.nanoTime();
            pool.forRange(c.out(), (from, to) -> {
                long u = THREADS.getCurrentThreadCpuTime();
                copies[b].matvec(x, y, from, to);
                kc.add(THREADS.getCurrentThreadCpuTime() - u);
            });
            long t2 = System.nanoTime();
            probeCpu[r] = pc.sum();
            kernelCpu[r] = kc.sum();
            probe[r] = (t1 - t0) / 1e6;
            kernel[r] = (t2 - t1) / 1e6;
        }
        if (sink == 42 && y[0] == 42) out.print(""); // keep the probe's result alive
        double prefillMs = Double.NaN;
        if (prefillTokens > 0) {
            float[][] xs = new float[prefillTokens][];
            float[][] ys = new float[prefillTokens][c.out()];
            for (int t = 0; t < prefillTokens; t++) xs[t] = randomVector(c.in(), 100 + t);
            JitWatch quiet = new JitWatch();
            for (int w = 0; w < 2 || (warmupSeconds > 0 && !quiet.quietFor(1.0) && w < 20); w++) pool.matmul(copies[w % n], xs, ys); // warm-up (C2)
            double[] pm = new double[Math.max(1, prefillRepeats)];
            for (int r = 0; r < pm.length; r++) {
                long t0 = System.nanoTime();
                pool.matmul(copies[(r + 1) % n], xs, ys);
                pm[r] = (System.nanoTime() - t0) / 1e6;
            }
            prefillMs = median(pm);
        }
        double probeMs = median(probe);
        return new Row(c, pool.threads(), median(kernel), c.bytes() / (probeMs * 1e6),
                Arrays.stream(probe).min().orElseThrow() / Arrays.stream(kernel).min().orElseThrow(),
                median(probeCpu) / median(kernelCpu), prefillMs);
    }

    private static float[] randomVector(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private void printHeader(long arenaBytes) {
        out.printf(Locale.ROOT, "grok bench kernels — %s%n", ZonedDateTime.now().withNano(0));
        out.printf(Locale.ROOT, "cpu: %s, %d processors; Java %s; float vector %d lanes (%d-bit)%n",
                cpuModel(), Runtime.getRuntime().availableProcessors(), Runtime.version(), Kernels.floatLanes(), Kernels.floatLanes() * 32);
        out.printf(Locale.ROOT, "cold rotation: ≥ %d MiB of distinct copies per case; arena %.2f GB; load average at start: %.2f%n",
                coldMb, arenaBytes / 1e9, load());
        out.println("matvec: median of " + repeats + " cold products, each interleaved with a streaming int8 sum over another copy's same bytes;");
        out.println("ratio = kernel GB/s ÷ read GB/s from medians; 'best' from the fastest of each; 'cpu' from the threads' CPU time (robust on a shared machine)");
        out.println();
    }

    /** Tells whether the JIT compilers have been idle for a while (total compilation time unchanged). */
    private static final class JitWatch {
        private final java.lang.management.CompilationMXBean bean = ManagementFactory.getCompilationMXBean();
        private long lastTotal = total();
        private long lastChange = System.nanoTime();

        private long total() {
            return bean != null && bean.isCompilationTimeMonitoringSupported() ? bean.getTotalCompilationTime() : 0;
        }

        boolean quietFor(double seconds) {
            long t = total(), now = System.nanoTime();
            if (t != lastTotal) {
                lastTotal = t;
                lastChange = now;
            }
            return now - lastChange >= seconds * 1e9;
        }
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** The probe splits its region into pages across the pool, like {@link MemoryBandwidth#sum(ParallelMatmul, MemorySegment, long, long)}. */
    private static final int PAGE = 4096;

    /**
     * The streaming int8 sum over {@code [off, off + len)}, split across the pool, adding the
     * CPU time its chunks take to {@code cpu}. CPU-time ratios (probe CPU ÷ kernel CPU over the
     * same bytes) stay meaningful on a shared machine, where other processes steal wall time
     * from one measurement and not the other.
     */
    private static long probe(ParallelMatmul pool, MemorySegment mem, long off, long len, LongAdder cpu) {
        int pages = (int) (len / PAGE);
        LongAdder sum = new LongAdder();
        pool.forRange(pages, (from, to) -> {
            long u = THREADS.getCurrentThreadCpuTime();
            long s = MemoryBandwidth.sum(mem, off + (long) from * PAGE, (long) (to - from) * PAGE);
            cpu.add(THREADS.getCurrentThreadCpuTime() - u);
            sum.add(s);
        });
        return sum.sum() + MemoryBandwidth.sum(mem, off + (long) pages * PAGE, len - (long) pages * PAGE);
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    private String format(Row r) {
        return String.format(Locale.ROOT, "%-16s %6d→%-6d %dT  matvec %7.2f ms  %6.1f GB/s  read %5.1f GB/s  ratio %4.0f%% (best %4.0f%%, cpu %4.0f%%)  %6.2f Gw/s%s",
                r.c().label(), r.c().in(), r.c().out(), r.threads(), r.matvecMs(), r.gbs(), r.probeGBs(), 100 * r.ratio(), 100 * r.bestRatio(), 100 * r.cpuRatio(), r.gweights(),
                Double.isNaN(r.prefillMs()) ? "" : String.format(Locale.ROOT, "  prefill T=%d %8.1f ms", prefillTokens, r.prefillMs()));
    }

    private String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        boolean pf = prefillTokens > 0;
        sb.append("| encoding | bits/w | in→out | threads | matvec ms | GB/s | read GB/s | ratio | ratio (best) | ratio (CPU time) | Gweights/s |");
        if (pf) sb.append(" prefill T=").append(prefillTokens).append(" ms | prefill GFLOP/s | prefill tokens/s |");
        sb.append('\n').append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        if (pf) sb.append("---:|---:|---:|");
        sb.append('\n');
        for (Row r : rows) {
            Case c = r.c();
            sb.append(String.format(Locale.ROOT, "| %s | %.2f | %d→%d | %d | %.2f | %.1f | %.1f | %.0f%% | %.0f%% | %.0f%% | %.2f |",
                    c.label(), c.spec().bitsPerWeight(c.in(), c.out()), c.in(), c.out(), r.threads(), r.matvecMs(), r.gbs(),
                    r.probeGBs(), 100 * r.ratio(), 100 * r.bestRatio(), 100 * r.cpuRatio(), r.gweights()));
            if (pf) {
                double flops = 2.0 * c.in() * c.out() * prefillTokens;
                sb.append(String.format(Locale.ROOT, " %.1f | %.1f | %.1f |", r.prefillMs(), flops / (r.prefillMs() * 1e6), prefillTokens / (r.prefillMs() / 1e3)));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** int4 vs int8 weights/s per shape and thread count, and the goal check int8 ≥ 80% of read bandwidth. */
    private static String summary(List<Row> rows) {
        StringBuilder sb = new StringBuilder("\n");
        for (Row r4 : rows) {
            if (r4.c().spec().encoding().fidelity() != Encoding.Fidelity.FOUR_BIT) continue;
            for (Row r8 : rows) {
                Encoding e8 = r8.c().spec().encoding();
                if (e8 != Encoding.Q8 && e8 != Encoding.INT8_ROWBLOCK) continue;
                if (r8.threads() != r4.threads() || r8.c().in() != r4.c().in() || r8.c().out() != r4.c().out()) continue;
                // At equal read bandwidth: each kernel's CPU-time ratio to the probe times its
                // weights per byte. Robust when other processes change the bandwidth between the
                // two rows (the plain ratio compares wall times taken at different moments).
                double atEqualBw = (r4.cpuRatio() / r8.cpuRatio()) * ((double) r8.c().bytes() / r4.c().bytes());
                sb.append(String.format(Locale.ROOT, "- %d→%d, %d thread(s): %s / %s weights/s = %.2f× (at equal read bandwidth, from CPU-time ratios: %.2f×)%n",
                        r4.c().in(), r4.c().out(), r4.threads(), r4.c().label(), r8.c().label(), r4.gweights() / r8.gweights(), atEqualBw));
            }
        }
        return sb.toString();
    }

    private void writeMarkdown(String text) throws IOException {
        Path target = markdown.toAbsolutePath();
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
