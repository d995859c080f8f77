package grokkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.convert.CheckpointSource;
import grokkit.convert.ConvertHooks;
import grokkit.convert.ConvertOptions;
import grokkit.convert.Converter;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.quant.Encoding;
import grokkit.runtime.GrokModel;
import grokkit.runtime.ImatrixCollector;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.Manifest;
import grokkit.shard.ShardedModel;
import grokkit.shard.TensorRecord;
import grokkit.verify.Metrics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code grok quant-eval CKPT_DIR}: how much each int4 encoding of the experts costs in output
 * accuracy. Converts the checkpoint losslessly (int8, the reference) and with each variant,
 * runs the same prompts through the Java runtime, and compares every position's next-token
 * distribution with the int8 model's: KL(int8 ‖ variant) mean / p99 / max, same-top-1 rate,
 * perplexity ratio on the prompts' own next tokens, with bits per weight and size of the experts.
 */
@Command(name = "quant-eval", mixinStandardHelpOptions = true,
        description = {"Measure the accuracy cost of each int4 expert encoding against lossless int8.",
                "Converts the checkpoint with each encoding and the Q4_0 baseline, runs the same prompts through the",
                "runtime, and compares with the int8 model: bits/weight, size, KL mean/p99/max,",
                "same-top-1, PPL ratio. Writes quant-eval.json and quant-eval.md to --out; progress goes to stderr."},
        footerHeading = "%nExample:%n",
        footer = {"  grok quant-eval golden-tests/fixtures/tiny-12l --out docs/benchmarks"})
public final class QuantEvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CKPT_DIR",
            description = "A ckpt-0 directory, or a fixture directory holding ckpt-0/ and config.json.")
    Path checkpoint;

    @Mixin
    ModelConfigOption modelConfig;

    @Option(names = "--variants", defaultValue = "q4_0,q4,q4nl,q4nl+imatrix", split = ",", paramLabel = "LIST",
            description = {"Expert encodings to compare (--experts values of grok convert; default ${DEFAULT-VALUE}). The first is the baseline of the ratios.",
                    "X+imatrix (X = q4nl or int4): X converted with an importance matrix collected on the int8 model over --calibration."})
    List<String> variants;

    /** The suffix of a variant converted with an importance matrix. */
    static final String IMATRIX_SUFFIX = "+imatrix";

    @Option(names = "--calibration", paramLabel = "FILE_OR_LIST",
            description = {"Calibration tokens of the +imatrix variants (as grok imatrix --tokens). Default: 16 sequences of",
                    "--length random tokens from seed --seed + 1, disjoint from the evaluation prompts' seed."})
    String calibration;

    @Option(names = "--prompts", defaultValue = "32", paramLabel = "N", description = "Number of prompts (default ${DEFAULT-VALUE}).")
    int prompts;

    @Option(names = "--length", defaultValue = "64", paramLabel = "N", description = "Tokens per prompt (default ${DEFAULT-VALUE}); errors accumulate over positions.")
    int length;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "N", description = "Seed of the random prompt tokens (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--work", paramLabel = "DIR", description = "Where to write the converted models (default: a temporary directory, deleted after).")
    Path work;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "Where to write quant-eval.json and quant-eval.md (default: the current directory).")
    Path outDir;

    @Mixin
    ThreadsOption threads;

    @Mixin
    QuietOption quiet;

    /** One row of the table. */
    record Row(String encoding, String encodings, double bitsPerWeight, long expertBytes, long modelBytes, double convertSeconds,
               Metrics.Summary summary, double klRatio) {}

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        // Progress and per-step lines go to stderr; the table and the files written to stdout.
        PrintWriter pw = quiet.progress(spec.commandLine().getErr());
        if (prompts < 1 || length < 2) throw new BadInputException("--prompts must be >= 1 and --length >= 2");
        for (String v : variants) {
            String base = v.endsWith(IMATRIX_SUFFIX) ? v.substring(0, v.length() - IMATRIX_SUFFIX.length()) : v;
            if (!ConvertOptions.EXPERT_VALUES.contains(base) || Encoding.of(base).fidelity() != Encoding.Fidelity.FOUR_BIT
                    || (v.endsWith(IMATRIX_SUFFIX) && !Encoding.of(base).weighsImportance()))
                throw new BadInputException("--variants: '" + v + "' is not an int4 --experts value (q4, q4nl, q4_0, int4, q4nl+imatrix)");
        }
        List<int[]> calibrationTokens = calibration == null ? null : ImatrixCommand.readTokens(calibration);
        Path ckpt = Files.isDirectory(checkpoint.resolve("ckpt-0")) ? checkpoint.resolve("ckpt-0") : checkpoint;
        if (!Files.isDirectory(ckpt)) throw new BadInputException("CKPT_DIR " + checkpoint + ": no such directory");
        ModelDirs.requireCheckpointDir(checkpoint, "CKPT_DIR");
        CheckpointConfig config = CheckpointConfig.resolve(checkpoint, modelConfig);
        ModelConfig.Parsed given = config.given();
        pw.println("quant-eval: " + config.describe());
        int nThreads = threads.resolve();
        boolean temp = work == null;
        Path dir = temp ? Files.createTempDirectory("grok-quant-eval") : work;
        Files.createDirectories(outDir);
        try {
            List<String> all = new ArrayList<>();
            all.add("int8");
            all.addAll(variants);
            double[] seconds = new double[all.size()];
            Path imatrix = null;
            for (int i = 0; i < all.size(); i++) {
                Path target = dir.resolve(all.get(i));
                deleteTree(target);
                String experts = all.get(i);
                if (experts.endsWith(IMATRIX_SUFFIX)) {
                    experts = experts.substring(0, experts.length() - IMATRIX_SUFFIX.length());
                    if (imatrix == null) imatrix = collectImatrix(pw, dir, calibrationTokens, nThreads);
                }
                pw.printf(Locale.ROOT, "quant-eval: converting with --experts %s%s → %s%n", experts,
                        experts.equals(all.get(i)) ? "" : " --imatrix " + imatrix, target);
                pw.flush();
                ConvertOptions opts = new ConvertOptions(experts, "int8", "f32", 32, null, nThreads, ConvertOptions.parseSize("4GiB"), false,
                        experts.equals(all.get(i)) ? null : imatrix);
                opts.validate();
                long t0 = System.nanoTime();
                try (CheckpointSource src = CheckpointSource.open(ckpt, given, config.refuseGuesses(), false)) {
                    new Converter(opts, new PrintWriter(new StringWriter()), false, ConvertHooks.NONE).convert(src, target);
                }
                seconds[i] = (System.nanoTime() - t0) / 1e9;
            }
            List<Row> rows = evaluate(pw, dir, all, seconds, nThreads);
            String md = markdown(rows);
            out.println();
            out.print(md);
            grokkit.io.OutputFiles.write(outDir.resolve("quant-eval.md"), "", md.getBytes(StandardCharsets.UTF_8));
            grokkit.io.OutputFiles.write(outDir.resolve("quant-eval.json"), "", json(rows).getBytes(StandardCharsets.UTF_8));
            out.println("wrote " + outDir.resolve("quant-eval.md") + " and " + outDir.resolve("quant-eval.json"));
            out.flush();
            pw.flush();
            return 0;
        } finally {
            if (temp) deleteTree(dir);
        }
    }

    /**
     * The importance matrix of the +imatrix variants: the int8 model (converted first) run over
     * the calibration tokens, which never overlap the evaluation prompts' random stream.
     */
    private Path collectImatrix(PrintWriter pw, Path dir, List<int[]> tokens, int nThreads) throws IOException {
        String what;
        if (tokens == null) {
            what = String.format(Locale.ROOT, "%d × %d random tokens, seed %d", CALIBRATION_SEQUENCES, length, seed + 1);
        } else {
            what = "--calibration " + calibration;
        }
        Path file = dir.resolve("calibration.imatrix.json");
        try (ModelWeights w = ShardedModel.open(dir.resolve("int8"));
             GrokModel model = new GrokModel(w, RuntimeOptions.defaults().withThreads(nThreads).withMaxContext(Math.max(length, 16)))) {
            int vocab = model.config().vocabSize();
            if (tokens == null) {
                Random r = new Random(seed + 1);
                tokens = new ArrayList<>();
                for (int p = 0; p < CALIBRATION_SEQUENCES; p++) {
                    int[] t = new int[length];
                    for (int i = 0; i < length; i++) t[i] = 3 + r.nextInt(vocab - 3);
                    tokens.add(t);
                }
            }
            for (int[] t : tokens)
                for (int id : t)
                    if (id < 0 || id >= vocab) throw new BadInputException("--calibration: token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            pw.printf(Locale.ROOT, "quant-eval: collecting the importance matrix on %s%n", what);
            pw.flush();
            ImatrixCollector.collect(model, tokens, model.maxContext()).result(what).write(file);
        }
        calibrationDescription = what;
        return file;
    }

    /** Default calibration: this many random sequences of --length tokens. */
    static final int CALIBRATION_SEQUENCES = 16;

    /** What the +imatrix rows were calibrated on (for the table's caption), or null. */
    private String calibrationDescription;

    private List<Row> evaluate(PrintWriter pw, Path dir, List<String> all, double[] seconds, int nThreads) throws IOException {
        List<ModelWeights> weights = new ArrayList<>();
        List<GrokModel> models = new ArrayList<>();
        try {
            for (String v : all) {
                ModelWeights w = ShardedModel.open(dir.resolve(v));
                weights.add(w);
                models.add(new GrokModel(w, RuntimeOptions.defaults().withThreads(nThreads).withMaxContext(Math.max(length, 16))));
            }
            int vocab = models.get(0).config().vocabSize();
            Random r = new Random(seed);
            List<List<Metrics.Position>> pos = new ArrayList<>();
            for (int i = 1; i < all.size(); i++) pos.add(new ArrayList<>());
            for (int p = 0; p < prompts; p++) {
                // Random ids above the special tokens (pad 0, BOS 1, EOS 2): no tokenizer needed, every id is exercised.
                int[] tokens = new int[length];
                for (int t = 0; t < length; t++) tokens[t] = 3 + r.nextInt(vocab - 3);
                float[][] ref = models.get(0).forward(tokens);
                for (int i = 1; i < all.size(); i++) pos.get(i - 1).addAll(Metrics.comparePrompt(ref, models.get(i).forward(tokens), tokens));
                if ((p + 1) % 8 == 0 || p + 1 == prompts) {
                    pw.printf(Locale.ROOT, "quant-eval: %d/%d prompts%n", p + 1, prompts);
                    pw.flush();
                }
            }
            List<Row> rows = new ArrayList<>();
            double baseKl = Double.NaN;
            for (int i = 1; i < all.size(); i++) {
                Metrics.Summary s = Metrics.summarize(pos.get(i - 1), vocab);
                if (i == 1) baseKl = s.klMean();
                Manifest m = Manifest.read(dir.resolve(all.get(i)));
                long eb = 0, mb = 0, n = 0;
                java.util.TreeSet<String> encs = new java.util.TreeSet<>();
                for (TensorRecord t : m.tensors()) {
                    long bytes = t.weights().length() + (t.scales() == null ? 0 : t.scales().length());
                    mb += bytes;
                    if (t.expert() != null) {
                        eb += bytes;
                        n += (long) t.in() * t.out();
                        encs.add(t.encoding().name());
                    }
                }
                rows.add(new Row(all.get(i), String.join("+", encs), 8.0 * eb / n, eb, mb, seconds[i], s, s.klMean() / baseKl));
            }
            return rows;
        } finally {
            for (GrokModel g : models) g.close();
            for (ModelWeights w : weights) w.close();
        }
    }

    private String markdown(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Experts quantized, everything else int8. %d prompts × %d random tokens (seed %d) = %d positions; "
                + "KL(int8 ‖ variant) in nats; PPL ratio on the prompts' next tokens; KL ratio vs %s.%n%n",
                prompts, length, seed, rows.isEmpty() ? 0 : rows.get(0).summary().positions(), rows.isEmpty() ? "-" : rows.get(0).encoding()));
        if (calibrationDescription != null)
            b.append(String.format(Locale.ROOT, "+imatrix: importance matrix collected on the int8 model over %s.%n%n", calibrationDescription));
        b.append("| --experts | stored as | bits/weight (experts) | experts MiB | model MiB | mean KL | p99 KL | max KL | same top-1 | PPL ratio | KL / baseline | convert s |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            Metrics.Summary s = r.summary();
            b.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.2f | %.2f | %.4f | %.3f | %.3f | %.3f | %.4f | %.3f | %.1f |%n",
                    r.encoding(), r.encodings(), r.bitsPerWeight(), r.expertBytes() / 1048576.0, r.modelBytes() / 1048576.0,
                    s.klMean(), s.klP99(), s.klMax(), s.sameTop1Rate(), s.pplRatio(), r.klRatio(), r.convertSeconds()));
        }
        return b.toString();
    }

    private String json(List<Row> rows) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = om.createObjectNode();
        ObjectMapper metricsMapper = grokkit.verify.VerifyResult.jsonMapper(); // the same field names as verify --json
        // 2: metrics in snake_case, as verify's JSON (1 wrote them in camelCase); docs/SCHEMAS.md
        root.put("schema_version", 2);
        root.put("checkpoint", checkpoint.toString());
        root.put("prompts", prompts);
        root.put("length", length);
        root.put("seed", seed);
        root.put("reference", "int8");
        if (calibrationDescription != null) root.put("imatrix_calibration", calibrationDescription);
        ArrayNode arr = root.putArray("variants");
        for (Row r : rows) {
            ObjectNode o = arr.addObject();
            o.put("experts", r.encoding());
            o.put("stored_as", r.encodings());
            o.put("bits_per_weight", r.bitsPerWeight());
            o.put("expert_bytes", r.expertBytes());
            o.put("model_bytes", r.modelBytes());
            o.put("kl_ratio", r.klRatio());
            o.put("convert_seconds", r.convertSeconds());
            o.set("metrics", metricsMapper.valueToTree(r.summary()));
        }
        return om.writeValueAsString(root) + "\n";
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
