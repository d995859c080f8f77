package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.io.Npy;
import grokkit.model.ModelWeights;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code grok logits MODEL_DIR --tokens 5,17,99 --out FILE.npy}: one full forward pass, all positions' logits. */
@Command(name = "logits",
        mixinStandardHelpOptions = true,
        description = {
                "Run the model over a token list and write every position's logits to a .npy file.",
                "The file is float32 [T, vocab] (row t = the next-token logits after tokens[0..t]; numpy format 1.0, '<f4', C order)."},
        footerHeading = "%nExample:%n",
        footer = {"  grok logits grok-1-int8 --tokens 5,17,99 --out logits.npy"})
public final class LogitsCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "A converted model directory (grok convert).")
    Path modelDir;

    @Option(names = "--tokens", required = true, paramLabel = "IDS", description = "Comma-separated token ids, e.g. 5,17,99.")
    String tokens;

    @Option(names = "--out", required = true, paramLabel = "FILE.npy", description = "Output file (written atomically).")
    Path out;

    @Mixin
    ThreadsOption threads;

    @Option(names = "--batch", paramLabel = "N",
            description = "Tokens per forward step (default: the whole prompt; 1 = one token at a time through the KV cache). The logits are the same bits for every N.")
    Integer batch;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        int[] ids = parseTokens(tokens);
        grokkit.io.OutputFiles.checkReplaceable(out, "--out"); // refused before the forward pass, not after
        RuntimeOptions options = RuntimeOptions.defaults().withThreads(threads.resolve());
        if (batch != null && batch < 1) throw new BadInputException("--batch: must be >= 1, got " + batch);
        options = options.withPrefillChunk(batch != null ? batch : ids.length);
        long t0 = System.nanoTime();
        try (ModelWeights weights = ModelDirs.open(modelDir, "MODEL_DIR");
             GrokModel model = new GrokModel(weights, options)) {
            float[][] logits = model.forward(ids);
            Npy.write(out, logits);
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: float32 [%d, %d] logits in %.2f s%n",
                    out, logits.length, model.config().vocabSize(), (System.nanoTime() - t0) / 1e9);
        }
        return ExitCodes.OK;
    }

    /** "5, 17,99" → {5, 17, 99}; anything else is a BadInputException naming --tokens. */
    static int[] parseTokens(String text) throws BadInputException {
        String trimmed = text == null ? "" : text.trim();
        if (trimmed.isEmpty()) throw new BadInputException("--tokens: the token list is empty");
        String[] parts = trimmed.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new BadInputException("--tokens: '" + p + "' (item " + (i + 1) + ") is not a token id");
            }
            if (ids[i] < 0) throw new BadInputException("--tokens: token id " + ids[i] + " (item " + (i + 1) + ") is negative");
        }
        return ids;
    }
}
