package grokkit.export;

import grokkit.errors.BadInputException;

import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The options that determine an export's bytes (the thread count never does).
 *
 * @param mix          the type of each tensor class
 * @param imatrix      an importance matrix of {@code grok imatrix} for the expert quantizers, or null
 * @param splitMaxSize at most this many tensor-data bytes per file ({@code NAME-0000k-of-0000n.gguf}), or 0 for one file
 * @param threads      worker threads
 * @param folds        the exact channel rewrites of the MoE layers ({@link ChannelFolds})
 */
public record ExportOptions(TypeMix mix, Path imatrix, long splitMaxSize, int threads, ChannelFolds.Settings folds) {
    /** With the default channel folds for the mix's expert type. */
    public ExportOptions(TypeMix mix, Path imatrix, long splitMaxSize, int threads) {
        this(mix, imatrix, splitMaxSize, threads, ChannelFolds.Settings.defaultFor(mix.experts()));
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]?)(i?B?)", Pattern.CASE_INSENSITIVE);

    /**
     * A size as {@code llama-gguf-split --split-max-size} reads it: {@code 500M}, {@code 50G}
     * (decimal: 10^6, 10^9 bytes, as there), also {@code K}/{@code T}, binary {@code MiB}/{@code GiB},
     * or plain bytes.
     */
    public static long parseSize(String s) throws BadInputException {
        Matcher m = SIZE.matcher(s.trim());
        if (!m.matches()) throw new BadInputException("--split-max-size " + s + ": not a size (examples: 50G, 500M, 4GiB)");
        long v = Long.parseLong(m.group(1));
        boolean binary = m.group(3).toLowerCase(Locale.ROOT).startsWith("i");
        int k = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 1;
            case "M" -> 2;
            case "G" -> 3;
            case "T" -> 4;
            default -> 0;
        };
        long unit = 1;
        for (int i = 0; i < k; i++) unit *= binary ? 1024 : 1000;
        if (v <= 0) throw new BadInputException("--split-max-size " + s + ": must be positive");
        try {
            return Math.multiplyExact(v, unit);
        } catch (ArithmeticException e) {
            throw new BadInputException("--split-max-size " + s + ": too large");
        }
    }
}
