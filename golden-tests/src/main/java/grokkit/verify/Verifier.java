package grokkit.verify;

import grokkit.errors.BadInputException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs a {@link LogitSource} on every golden prompt, compares with the golden logits of one mode,
 * and applies the thresholds to all positions pooled. Only one prompt's logits (golden and ours)
 * are held at a time.
 */
public final class Verifier {
    private Verifier() {}

    /**
     * @param golden     the golden set (validated)
     * @param mode       golden mode to compare against, e.g. {@code f32}
     * @param ours       produces our logits for a prompt
     * @param sourceName how to name {@code ours} in reports
     * @param thresholds bounds to apply
     * @param progress   receives one line per prompt (may be {@code s -> {}})
     * @throws BadInputException when golden files are missing/corrupt or {@code ours} returns a
     *                           wrongly shaped array (a logits file of the wrong shape)
     */
    public static VerifyResult verify(GoldenSet golden, String mode, LogitSource ours, String sourceName,
                                      Thresholds thresholds, Consumer<String> progress) throws IOException {
        golden.requireMode(mode);
        int vocab = golden.vocabSize();
        List<VerifyResult.PromptResult> prompts = new ArrayList<>();
        List<Metrics.Position> all = new ArrayList<>();
        for (GoldenSet.Prompt p : golden.prompts()) {
            float[][] g = golden.logits(p, mode);
            long t0 = System.nanoTime();
            float[][] o = ours.logits(p.tokens().clone());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            checkShape(o, p, vocab, sourceName);
            List<Metrics.Position> ps = Metrics.comparePrompt(g, o, p.tokens());
            all.addAll(ps);
            double[] kl = ps.stream().mapToDouble(Metrics.Position::kl).toArray();
            int[] mismatches = java.util.stream.IntStream.range(0, ps.size())
                    .filter(t -> !ps.get(t).sameTop1()).toArray();
            Metrics.Summary s = Metrics.summarize(ps, vocab);
            prompts.add(new VerifyResult.PromptResult(p.k(), p.length(), s, kl, mismatches));
            progress.accept(String.format(java.util.Locale.ROOT, "prompt %d: %d tokens, %d ms, mean KL %s, max |Δ| %s",
                    p.k(), p.length(), ms, Report.num(s.klMean()), Report.num(s.maxAbsDiff())));
        }
        Metrics.Summary overall = Metrics.summarize(all, vocab);
        List<Thresholds.Check> checks = thresholds.check(overall);
        boolean passed = checks.stream().allMatch(Thresholds.Check::passed);
        return new VerifyResult(golden.dir().toString(), mode, sourceName, vocab, thresholds, List.copyOf(prompts),
                overall, checks, passed);
    }

    private static void checkShape(float[][] o, GoldenSet.Prompt p, int vocab, String sourceName) throws BadInputException {
        if (o == null || o.length != p.length()) {
            throw new BadInputException(sourceName + ": prompt k=" + p.k() + ": expected " + p.length()
                    + " rows of logits, got " + (o == null ? "none" : o.length));
        }
        for (int t = 0; t < o.length; t++) {
            if (o[t] == null || o[t].length != vocab) {
                throw new BadInputException(sourceName + ": prompt k=" + p.k() + ": row " + t + " has "
                        + (o[t] == null ? 0 : o[t].length) + " logits, expected vocab " + vocab);
            }
        }
    }
}
