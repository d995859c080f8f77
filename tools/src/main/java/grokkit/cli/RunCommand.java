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
 * as they are produced. Statistics go to stderr so stdout is the text alone.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Generate text from a converted model directory.",
                "  grok run MODEL_DIR --prompt \"The quick brown fox\" --max-tokens 32 --temperature 0.8 --top-p 0.95 --seed 7"})
public final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "A converted model directory (grok convert's output).")
    Path modelDir;

    @Option(names = "--prompt", required = true, description = "The prompt text.")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "64", description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature; 0 = greedy (default ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus filtering as the reference runner does; 1 = off (default ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed: the same seed gives the same output (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "SentencePiece model; default: the one the manifest names.")
    Path tokenizerFile;

    @Option(names = "--bos", description = "Prepend the BOS token to the prompt (the reference runner does not).")
    boolean bos;

    @Option(names = "--threads", description = "Worker threads for the matrix products (default: all processors).")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(modelDir)) {
            throw new BadInputException("MODEL_DIR " + modelDir + ": no such directory");
        }
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
        try (ShardedModel weights = ShardedModel.open(modelDir)) {
            SentencePieceTokenizer tokenizer = SentencePieceTokenizer.load(resolveTokenizer(weights));
            int vocab = weights.config().vocabSize();
            if (tokenizer.vocabSize() != vocab) {
                throw new BadInputException("tokenizer " + resolveTokenizer(weights) + " has " + tokenizer.vocabSize()
                        + " pieces but the model's vocab_size is " + vocab);
            }
            int[] promptIds = tokenizer.encode(prompt);
            if (bos) {
                promptIds = prepend(tokenizer.bosId(), promptIds);
            }
            if (promptIds.length == 0) {
                throw new BadInputException("--prompt: the prompt encodes to no tokens; give some text or --bos");
            }
            RuntimeOptions options = threads == null ? RuntimeOptions.defaults() : RuntimeOptions.defaults().withThreads(threads);
            try (GrokModel model = new GrokModel(weights, options); Session session = model.newSession()) {
                StreamingDecoder text = new StreamingDecoder(tokenizer, promptIds);
                out.print(tokenizer.decode(promptIds));
                out.flush();
                int eos = weights.config().eosToken();
                Generator.Result r = Generator.generate(session, promptIds, maxTokens, sampler, eos, id -> {
                    out.print(text.push(id));
                    out.flush();
                });
                out.println(text.flush());
                out.flush();
                err.println(String.format(Locale.ROOT,
                        "prompt: %d tokens in %.3f s (%.1f tokens/s); decode: %d tokens in %.3f s (%.2f tokens/s); generated %d, stop: %s",
                        promptIds.length, r.prefillNanos() / 1e9, r.promptTokensPerSecond(),
                        r.decodeSteps(), r.decodeNanos() / 1e9, r.decodeTokensPerSecond(),
                        r.generated().length, r.stop().name().toLowerCase(Locale.ROOT)));
                err.flush();
            }
        }
        return ExitCodes.OK;
    }

    private Path resolveTokenizer(ShardedModel weights) throws BadInputException {
        if (tokenizerFile != null) {
            return tokenizerFile;
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
