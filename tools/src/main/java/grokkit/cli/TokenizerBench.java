package grokkit.cli;

import grokkit.tokenizer.SentencePieceTokenizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code grok tokenize --bench FILE}: encoding speed on a text file, measured the same two ways as
 * tools/python/bench_tokenizer.py measures the reference library (whole file as one string, and
 * line by line), best of N runs after a warm-up, single thread.
 */
final class TokenizerBench {
    private TokenizerBench() {}

    static void run(SentencePieceTokenizer tok, Path file, int repeat, PrintWriter out) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        // Warm-up: let the JIT compile the hot loops before timing (the library is native code).
        long tokens = 0;
        for (int i = 0; i < Math.min(lines.size(), 20_000); i++) {
            tokens += tok.encode(lines.get(i)).length;
        }
        tok.encode(text.substring(0, Math.min(text.length(), 1 << 20)));
        double bestWhole = Double.MAX_VALUE, bestLines = Double.MAX_VALUE;
        long wholeTokens = 0, lineTokens = 0;
        for (int r = 0; r < repeat; r++) {
            long t0 = System.nanoTime();
            wholeTokens = tok.encode(text).length;
            bestWhole = Math.min(bestWhole, (System.nanoTime() - t0) / 1e9);
            t0 = System.nanoTime();
            lineTokens = 0;
            for (String line : lines) {
                lineTokens += tok.encode(line).length;
            }
            bestLines = Math.min(bestLines, (System.nanoTime() - t0) / 1e9);
        }
        out.printf("file %s: %.2f MB, %d lines%n", file, mb, lines.size());
        out.printf("java whole-text: %d tokens in %.3f s = %.2f MB/s, %.0f tokens/s%n", wholeTokens, bestWhole, mb / bestWhole, wholeTokens / bestWhole);
        out.printf("java line-by-line: %d tokens in %.3f s = %.2f MB/s, %.0f tokens/s%n", lineTokens, bestLines, mb / bestLines, lineTokens / bestLines);
    }
}
