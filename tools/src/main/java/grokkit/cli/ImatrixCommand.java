package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.model.ModelWeights;
import grokkit.quant.Imatrix;
import grokkit.runtime.GrokModel;
import grokkit.runtime.ImatrixCollector;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.ShardedModel;
import grokkit.tokenizer.SentencePieceTokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code grok imatrix MODEL_DIR (--text FILE | --tokens FILE_OR_LIST) --out FILE}: runs calibration
 * tokens through a (preferably int8) model and writes the importance matrix that
 * {@code grok convert --imatrix} uses: per layer and expert, the mean square of each input
 * channel of the expert products and the tokens routed to the expert (docs/FORMAT.md).
 */
@Command(name = "imatrix", mixinStandardHelpOptions = true,
        description = {"Collect an importance matrix on calibration text, for int4 conversion.",
                "Per layer and expert: the mean square of each input channel of the expert products; used by",
                "grok convert --experts int4 --imatrix FILE to weight the q4nl error.",
                "Progress (tokens, rate, ETA) goes to stderr."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok imatrix grok-1-int8 --text calibration.txt --out grok-1.imatrix.json",
                "  grok convert ckpt-0 grok-1-int4 --experts int4 --imatrix grok-1.imatrix.json"})
public final class ImatrixCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "A converted model directory (int8 experts recommended).")
    Path modelDir;

    static final class Input {
        @Option(names = "--text", paramLabel = "FILE", description = "Calibration text (UTF-8), tokenized with the model's tokenizer (a BOS starts the text).")
        Path text;

        @Option(names = "--tokens", paramLabel = "FILE_OR_LIST",
                description = {"Calibration token ids: a comma-separated list, or a file holding one (commas/whitespace),",
                        "a JSON array of ids, or a JSON array of such arrays (separate sequences)."})
        String tokens;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--out", required = true, paramLabel = "FILE",
            description = "The index to write (JSON); its arrays go beside it as FILE.expert_in.npy and FILE.down_in.npy.")
    Path out;

    @Option(names = "--context", defaultValue = "512", paramLabel = "N",
            description = "Longest window run in one session (default ${DEFAULT-VALUE}); longer sequences are cut.")
    int context;

    @Mixin
    ThreadsOption threads;

    @Mixin
    QuietOption quiet;

    @Override
    public Integer call() throws IOException {
        PrintWriter pw = spec.commandLine().getOut();
        if (context < 1) throw new BadInputException("--context must be >= 1, got " + context);
        long t0 = System.nanoTime();
        try (ShardedModel weights = ModelDirs.open(modelDir, "MODEL_DIR")) {
            List<int[]> seqs;
            String calibration;
            if (input.text != null) {
                Path tok = tokenizer.file() != null ? tokenizer.file() : manifestTokenizer(weights);
                SentencePieceTokenizer t = SentencePieceTokenizer.load(tok);
                if (t.vocabSize() != weights.config().vocabSize())
                    throw new BadInputException("tokenizer " + tok + " has " + t.vocabSize() + " pieces, the model's vocabulary has " + weights.config().vocabSize());
                String text = readText(input.text);
                int[] ids = t.encode(text);
                int[] all = new int[ids.length + 1];
                all[0] = t.bosId();
                System.arraycopy(ids, 0, all, 1, ids.length);
                seqs = List.of(all);
                calibration = "text " + input.text.getFileName() + " (tokenizer " + tok.getFileName() + ")";
            } else {
                seqs = readTokens(input.tokens);
                calibration = Files.isRegularFile(Path.of(input.tokens)) ? "tokens " + Path.of(input.tokens).getFileName() : "token list";
            }
            int vocab = weights.config().vocabSize();
            long n = 0;
            for (int[] s : seqs) {
                n += s.length;
                for (int id : s)
                    if (id < 0 || id >= vocab) throw new BadInputException("calibration token id " + id + " is outside the model's vocabulary [0, " + vocab + ")");
            }
            if (n == 0) throw new BadInputException("no calibration tokens");
            RuntimeOptions options = RuntimeOptions.defaults().withMaxContext(context);
            options = options.withThreads(threads.resolve());
            Imatrix m;
            try (GrokModel model = new GrokModel(weights, options)) {
                ProgressLine progress = ProgressLine.of(quiet.progress(spec.commandLine().getErr()), "imatrix", "tokens", n);
                m = ImatrixCollector.collect(model, seqs, Math.min(context, model.maxContext()), progress::update)
                        .result(calibration + ", " + n + " tokens");
                progress.finish();
            }
            m.write(out);
            long unseen = 0;
            for (int l = 0; l < m.layers(); l++) for (int e = 0; e < m.experts(); e++) if (m.tokens(l, e) == 0) unseen++;
            pw.printf(Locale.ROOT, "wrote %s: %d calibration tokens, %d layers × %d experts (%d saw no token) in %.1f s%n",
                    out, n, m.layers(), m.experts(), unseen, (System.nanoTime() - t0) / 1e9);
        }
        return ExitCodes.OK;
    }

    private Path manifestTokenizer(ShardedModel weights) throws BadInputException {
        String name = weights.manifest().tokenizer();
        if (name == null || name.isBlank())
            throw new BadInputException(modelDir + ": the manifest names no tokenizer (pass --tokenizer FILE)");
        return modelDir.resolve(name);
    }

    private static String readText(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new BadInputException("--text " + file + ": no such file");
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException("--text " + file + ": not UTF-8 text");
        }
    }

    /** A list "5,17,99", or a file (ids separated by commas/whitespace, a JSON array, or a JSON array of arrays). */
    static List<int[]> readTokens(String arg) throws IOException {
        Path p = Path.of(arg);
        if (!Files.isRegularFile(p)) {
            if (!arg.matches("[0-9,\\s]+")) throw new BadInputException("--tokens " + arg + ": no such file, and not a list of token ids");
            return List.of(LogitsCommand.parseTokens(arg));
        }
        String text = Files.readString(p, StandardCharsets.UTF_8).trim();
        if (!text.startsWith("[")) {
            try {
                return List.of(LogitsCommand.parseTokens(text.replaceAll("\\s+", ",").replaceAll(",+", ",")));
            } catch (BadInputException e) {
                throw new BadInputException("--tokens " + p + ": " + e.getMessage());
            }
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(text);
        } catch (IOException e) {
            throw new BadInputException("--tokens " + p + ": invalid JSON");
        }
        List<int[]> seqs = new ArrayList<>();
        if (root.size() > 0 && root.get(0).isArray()) {
            for (JsonNode s : root) seqs.add(ids(p, s));
        } else {
            seqs.add(ids(p, root));
        }
        return seqs;
    }

    private static int[] ids(Path p, JsonNode a) throws BadInputException {
        if (!a.isArray()) throw new BadInputException("--tokens " + p + ": expected an array of token ids");
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            if (!a.get(i).canConvertToInt()) throw new BadInputException("--tokens " + p + ": '" + a.get(i) + "' is not a token id");
            r[i] = a.get(i).asInt();
        }
        return r;
    }
}
