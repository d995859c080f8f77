package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.runtime.Generator;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.runtime.Sampler;
import grokkit.runtime.Session;
import grokkit.shard.ShardedModel;
import grokkit.tokenizer.SentencePieceTokenizer;
import grokkit.tokenizer.StreamingDecoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code grok run}: generate text from a converted model directory. The prompt is encoded with
 * the model's SentencePiece tokenizer (no BOS, as the reference runner does; {@code --bos} adds
 * it), prefilled in one pass, then tokens are drawn one at a time with the KV cache and printed
 * as they are produced. Timings go to stderr so stdout is the text alone.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate text from a converted model directory.",
                "The text goes to stdout as it is produced; the timings (load, warm-up, prompt, generation) to stderr."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok run grok-1-int8 --prompt \"The quick brown fox\" --max-tokens 32 --temperature 0.8 --seed 7",
                "  grok run grok-1-int8 --prompt \"2 + 2 =\" --temperature 0 --show-ids     (greedy, and the ids)"})
public final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "A converted model directory (grok convert's output).")
    Path modelDir;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt text.")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "64", paramLabel = "N", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.95", paramLabel = "P", description = "Nucleus filtering as the reference runner does; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "N", description = "Random seed: the same seed gives the same output (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--bos", description = "Prepend the BOS token to the prompt (the reference runner does not).")
    boolean bos;

    @Option(names = "--show-ids", description = "After the text, print the prompt's and the generated token ids (stderr).")
    boolean showIds;

    @Mixin
    TokenizerOption tokenizer;

    @Mixin
    ThreadsOption threads;

    @Mixin
    QuietOption quiet;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) {
            throw new BadInputException("--max-tokens must be >= 0, got " + maxTokens);
        }
        Sampler sampler;
        try {
            sampler = new Sampler(temperature, topP, seed);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--temperature/--top-p: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        try (ShardedModel weights = ModelDirs.open(modelDir, "MODEL_DIR")) {
            Path tokenizerFile = resolveTokenizer(weights);
            SentencePieceTokenizer tok = SentencePieceTokenizer.load(tokenizerFile);
            int vocab = weights.config().vocabSize();
            if (tok.vocabSize() != vocab) {
                throw new BadInputException("tokenizer " + tokenizerFile + " has " + tok.vocabSize()
                        + " pieces but the model's vocab_size is " + vocab);
            }
            int[] promptIds = tok.encode(prompt);
            if (bos) {
                promptIds = prepend(tok.bosId(), promptIds);
            }
            if (promptIds.length == 0) {
                throw new BadInputException("--prompt: the prompt encodes to no tokens; give some text or --bos");
            }
            RuntimeOptions options = RuntimeOptions.defaults().withThreads(threads.resolve()).withWarmUp(false);
            try (GrokModel model = new GrokModel(weights, options); Session session = model.newSession()) {
                long loadNanos = System.nanoTime() - t0;
                long warmNanos = model.warmUp();
                StreamingDecoder text = new StreamingDecoder(tok, promptIds);
                out.print(tok.decode(promptIds));
                out.flush();
                int eos = weights.config().eosToken();
                Generator.Result r = Generator.generate(session, promptIds, maxTokens, sampler, eos, id -> {
                    out.print(text.push(id));
                    out.flush();
                });
                out.println(text.flush());
                out.flush();
                if (showIds) {
                    err.println("prompt ids: " + ids(r.prompt()));
                    err.println("generated ids: " + ids(r.generated()));
                }
                if (!quiet.quiet()) {
                    err.println(String.format(Locale.ROOT,
                            "load %.2f s; warm-up %.2f s; prompt: %d tokens in %.3f s (%.1f tokens/s); "
                                    + "generation: %d tokens in %.3f s (%.2f tokens/s); stop: %s",
                            loadNanos / 1e9, warmNanos / 1e9,
                            promptIds.length, r.prefillNanos() / 1e9, r.promptTokensPerSecond(),
                            r.decodeSteps(), r.decodeNanos() / 1e9, r.decodeTokensPerSecond(),
                            r.stop().name().toLowerCase(Locale.ROOT)));
                }
                err.flush();
            }
        }
        return ExitCodes.OK;
    }

    private static String ids(int[] ids) {
        StringBuilder b = new StringBuilder();
        for (int id : ids) b.append(b.isEmpty() ? "" : " ").append(id);
        return b.toString();
    }

    private Path resolveTokenizer(ShardedModel weights) throws BadInputException {
        if (tokenizer.file() != null) {
            return tokenizer.file();
        }
        String name = weights.manifest().tokenizer();
        if (name == null || name.isBlank()) {
            throw new BadInputException(modelDir + ": the manifest names no tokenizer (convert with --tokenizer, or pass --tokenizer FILE)");
        }
        return modelDir.resolve(name);
    }

    private static int[] prepend(int first, int[] rest) {
        int[] all = new int[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
