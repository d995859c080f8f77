package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.runtime.GrokModel;
import grokkit.runtime.Session;
import grokkit.model.ModelWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code grok bench decode}: tokens/s of step-by-step decode with the KV cache. */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = {"Decode tokens/s of random weights at a Grok shape, or of a converted model.",
                "Step-by-step decode (matrix-vector products over the selected experts), with the bytes read per token",
                "as a ratio of the memory bandwidth measured in the same run."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok bench decode --shape grok1-layer --encoding int8",
                "  grok bench decode --model grok-1-int4 --tokens 64"})
public final class BenchDecodeCommand extends ModelBench implements Callable<Integer> {
    @Option(names = "--prompt", defaultValue = "16", paramLabel = "N", description = "Prompt tokens prefilled before decoding. Default: ${DEFAULT-VALUE}.")
    int prompt;

    @Option(names = "--tokens", defaultValue = "32", paramLabel = "N", description = "Timed decode steps. Default: ${DEFAULT-VALUE}.")
    int tokens;

    @Option(names = "--warmup", defaultValue = "8", paramLabel = "N", description = "Untimed decode steps first (JIT). Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--repeats", defaultValue = "1", paramLabel = "N",
            description = "Timed runs of --tokens steps, one after the other in the same session; the fastest is reported "
                    + "(on a shared machine the best run is the one least disturbed). Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Override
    public Integer call() throws Exception {
        if (tokens < 1 || prompt < 1 || warmup < 0 || repeats < 1)
            throw new BadInputException("--prompt, --tokens and --repeats must be >= 1, --warmup >= 0");
        int threads = threads();
        printContext(threads);
        try (ModelWeights w = weights(); GrokModel model = open(w, 128); Session s = model.newSession()) {
            ModelConfig c = w.config();
            int steps = prompt + warmup + repeats * tokens;
            if (steps > model.maxContext()) throw new BadInputException("--prompt + --warmup + --repeats x --tokens exceed sequence_len");
            double bandwidth = probeBandwidth();
            int[] ids = randomTokens(steps, c.vocabSize(), 7);
            s.prefill(java.util.Arrays.copyOf(ids, prompt));
            for (int i = 0; i < warmup; i++) s.decode(ids[prompt + i]);
            double seconds = Double.MAX_VALUE;
            Session.Timings tm = null;
            long[] phases = new long[Session.Phase.values().length];
            for (int r = 0; r < repeats; r++) {
                s.resetTimings();
                long t0 = System.nanoTime();
                for (int i = 0; i < tokens; i++) s.decode(ids[prompt + warmup + r * tokens + i]);
                double sec = (System.nanoTime() - t0) / 1e9;
                if (repeats > 1) out.printf(Locale.ROOT, "  run %d: %.2f tokens/s%n", r + 1, tokens / sec);
                if (sec < seconds) {
                    seconds = sec;
                    tm = s.timings();
                    for (Session.Phase p : Session.Phase.values()) phases[p.ordinal()] = s.phaseNanos(p);
                }
            }
            double msLayers = tm.layerNanos() / 1e6 / tokens, msHead = tm.logitNanos() / 1e6 / tokens;
            long[] bytes = decodeBytes(w);
            double bytesPerToken = (double) bytes[0] * c.numLayers() + bytes[1];
            double tokS = tokens / seconds;
            double gbs = bytesPerToken * tokS / 1e9;
            out.printf(Locale.ROOT, "decode: %d tokens after a %d-token prompt%s: %.2f tokens/s (%.2f ms/token: layers %.2f, output head %.2f)%n",
                    tokens, prompt, repeats > 1 ? " (best of " + repeats + ")" : "", tokS, 1e3 / tokS, msLayers, msHead);
            out.printf(Locale.ROOT, "weights read per token: %.1f MB -> %.1f GB/s = %.0f%% of the %.1f GB/s streaming read measured in this run%n",
                    bytesPerToken / 1e6, gbs, 100 * gbs / bandwidth, bandwidth);
            int proj = projection(c);
            if (proj > 0) {
                double msLayer = msLayers / c.numLayers();
                double ms = msHead + proj * msLayer;
                double projBytes = (double) bytes[0] * proj + bytes[1];
                out.printf(Locale.ROOT, "projected to %d layers: %.1f ms/token = %.3f tokens/s (%.2f GB read per token; at the probe's %.1f GB/s the floor is %.1f ms/token)%n",
                        proj, ms, 1e3 / ms, projBytes / 1e9, bandwidth, projBytes / bandwidth / 1e6);
            }
            printPhases(phases, w, tokens, bandwidth);
            out.printf(Locale.ROOT, "| decode | %s | %d | %d | %.2f | %.1f | %.1f | %.0f%% |%n",
                    label(w), c.numLayers(), threads, tokS, gbs, bandwidth, 100 * gbs / bandwidth);
        }
        return ExitCodes.OK;
    }

    /**
     * Where a token's time went ({@link Session.Phase}): ms per token per phase, and for the
     * matrix products their weight bytes as GB/s and as a share of the probe, which separates
     * the kernels' efficiency on each shape from the time spent between products.
     */
    private void printPhases(long[] phaseNanos, ModelWeights w, int tokens, double bandwidth) {
        ModelConfig c = w.config();
        long sel = c.numSelectedExperts(), layers = c.numLayers();
        java.util.Map<Session.Phase, Long> bytes = new java.util.EnumMap<>(Session.Phase.class);
        bytes.put(Session.Phase.QKV, layers * (size(w, ParamNames.ATTN_QUERY) + size(w, ParamNames.ATTN_KEY) + size(w, ParamNames.ATTN_VALUE)));
        bytes.put(Session.Phase.ATTN_OUT, layers * size(w, ParamNames.ATTN_OUT));
        bytes.put(Session.Phase.EXPERT_UP, layers * sel * (expertSize(w, ParamNames.MOE_LINEAR) + expertSize(w, ParamNames.MOE_LINEAR_V)));
        bytes.put(Session.Phase.EXPERT_DOWN, layers * sel * expertSize(w, ParamNames.MOE_LINEAR_1));
        bytes.put(Session.Phase.HEAD, w.embeddings().byteSize());
        double total = 0;
        for (long n : phaseNanos) total += n;
        out.printf(Locale.ROOT, "per token by phase (%.2f ms timed):%n", total / 1e6 / tokens);
        for (Session.Phase p : Session.Phase.values()) {
            double ms = phaseNanos[p.ordinal()] / 1e6 / tokens;
            Long b = bytes.get(p);
            if (b == null) {
                out.printf(Locale.ROOT, "  %-12s %7.3f ms%n", p, ms);
            } else {
                double gbs = b / (ms * 1e6);
                out.printf(Locale.ROOT, "  %-12s %7.3f ms  %7.1f MB  %5.1f GB/s = %3.0f%% of the probe%n", p, ms, b / 1e6, gbs, 100 * gbs / bandwidth);
            }
        }
    }

    private static long size(ModelWeights w, String param) {
        return w.matrix(ParamNames.layer(0, param)).byteSize();
    }

    private static long expertSize(ModelWeights w, String param) {
        return w.expert(ParamNames.layer(0, param), 0).byteSize();
    }
}
