package grokkit.cli;

import grokkit.tokenizer.SentencePieceTokenizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * {@code grok tokenize --bench FILE}: encoding speed on a text file, measured the same two ways as
 * tools/python/bench_tokenizer.py measures the reference library (whole file as one string, and
 * line by line), single thread, best of N runs after a warm-up. It reports both the thread's CPU
 * time (stable on a shared machine) and wall time.
 */
final class TokenizerBench {
    private TokenizerBench() {}

    record Timing(double cpuSeconds, double wallSeconds, long tokens) {}

    static void run(SentencePieceTokenizer tok, Path file, int repeat, PrintWriter out) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        // Warm-up: let the JIT compile the hot loops before timing (the library is native code).
        for (int i = 0; i < Math.min(lines.size(), 20_000); i++) {
            tok.encode(lines.get(i));
        }
        tok.encode(text.substring(0, Math.min(text.length(), 1 << 20)));
        Timing whole = best(repeat, () -> tok.encode(text).length);
        Timing byLine = best(repeat, () -> {
            long n = 0;
            for (String line : lines) {
                n += tok.encode(line).length;
            }
            return n;
        });
        out.printf("file %s: %.2f MB, %d lines%n", file, mb, lines.size());
        print(out, "java whole-text", whole, mb);
        print(out, "java line-by-line", byLine, mb);
    }

    private static void print(PrintWriter out, String what, Timing t, double mb) {
        out.printf("%s: %d tokens in %.3f s cpu (%.3f s wall) = %.2f MB/s cpu, %.0f tokens/s cpu%n",
                what, t.tokens(), t.cpuSeconds(), t.wallSeconds(), mb / t.cpuSeconds(), t.tokens() / t.cpuSeconds());
    }

    private static Timing best(int repeat, LongSupplier work) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double cpu = Double.MAX_VALUE, wall = Double.MAX_VALUE;
        long tokens = 0;
        for (int r = 0; r < repeat; r++) {
            long c0 = mx.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            tokens = work.getAsLong();
            cpu = Math.min(cpu, (mx.getCurrentThreadCpuTime() - c0) / 1e9);
            wall = Math.min(wall, (System.nanoTime() - w0) / 1e9);
        }
        return new Timing(cpu, wall, tokens);
    }
}
