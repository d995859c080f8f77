package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.model.ModelConfig;
import grokkit.runtime.GrokModel;
import grokkit.runtime.Session;
import grokkit.model.ModelWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code grok bench prefill}: prompt tokens/s of the matrix-matrix prefill path. */
@Command(name = "prefill", mixinStandardHelpOptions = true,
        description = {"Prefill tokens/s of random weights at a Grok shape, or of a converted model.",
                "One pass over the prompt (matrix-matrix products, tokens grouped by expert)."},
        footerHeading = "%nExample:%n",
        footer = {"  grok bench prefill --shape grok1-layer --encoding q4nl --prompt 128"})
public final class BenchPrefillCommand extends ModelBench implements Callable<Integer> {
    @Option(names = "--prompt", defaultValue = "64", paramLabel = "N", description = "Prompt length. Default: ${DEFAULT-VALUE}.")
    int prompt;

    @Option(names = "--repeats", defaultValue = "3", paramLabel = "N", description = "Timed prefills (best reported), after one untimed. Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Override
    public Integer call() throws Exception {
        if (prompt < 1 || repeats < 1) throw new BadInputException("--prompt and --repeats must be >= 1");
        int threads = threads();
        printContext(threads);
        try (ModelWeights w = weights(); GrokModel model = open(w, Math.max(prompt, 1)); Session s = model.newSession()) {
            ModelConfig c = w.config();
            if (prompt > model.maxContext()) throw new BadInputException("--prompt exceeds sequence_len");
            double bandwidth = probeBandwidth();
            int[] ids = randomTokens(prompt, c.vocabSize(), 11);
            long c0 = System.nanoTime();
            s.prefill(ids);
            double coldMs = (System.nanoTime() - c0) / 1e6;
            double[] secs = new double[repeats];
            Session.Timings best = null;
            long[] phases = new long[Session.Phase.values().length];
            for (int r = 0; r < repeats; r++) {
                s.reset();
                s.resetTimings();
                long t0 = System.nanoTime();
                s.prefill(ids);
                secs[r] = (System.nanoTime() - t0) / 1e9;
                if (best == null || secs[r] <= Arrays.stream(secs, 0, r).min().orElse(Double.MAX_VALUE)) {
                    best = s.timings();
                    for (Session.Phase p : Session.Phase.values()) phases[p.ordinal()] = s.phaseNanos(p);
                }
            }
            double sec = Arrays.stream(secs).min().orElseThrow();
            double tokS = prompt / sec;
            out.printf(Locale.ROOT, "prefill: %d-token prompt in %.1f ms = %.1f tokens/s (layers %.1f ms, output head %.1f ms); streaming read %.1f GB/s%n",
                    prompt, sec * 1e3, tokS, best.layerNanos() / 1e6, best.logitNanos() / 1e6, bandwidth);
            out.printf(Locale.ROOT, "phases of the best run (ms):");
            for (Session.Phase p : Session.Phase.values()) out.printf(Locale.ROOT, " %s %.1f", p, phases[p.ordinal()] / 1e6);
            out.println();
            out.printf(Locale.ROOT, "first (cold JIT) prefill: %.1f ms = %.1f tokens/s%n", coldMs, prompt / (coldMs / 1e3));
            int proj = projection(c);
            if (proj > 0) {
                double ms = best.logitNanos() / 1e6 + proj * best.layerNanos() / 1e6 / c.numLayers();
                out.printf(Locale.ROOT, "projected to %d layers: %.0f ms for the prompt = %.2f tokens/s%n", proj, ms, prompt / (ms / 1e3));
            }
            out.printf(Locale.ROOT, "| prefill | %s | %d | %d | %.1f | %d |%n", label(w), c.numLayers(), threads, tokS, prompt);
        }
        return ExitCodes.OK;
    }
}
