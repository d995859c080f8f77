package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.ShardedModel;
import grokkit.verify.GoldenSet;
import grokkit.verify.LogitSource;
import grokkit.verify.LogitsDirSource;
import grokkit.verify.Report;
import grokkit.verify.ReportContext;
import grokkit.shard.Manifest;
import grokkit.shard.TensorRecord;
import grokkit.verify.Thresholds;
import grokkit.verify.VerifyResult;
import grokkit.verify.Verifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code grok verify}: compares our logits with golden logits and gates CI on the result
 * (exit 0 = every threshold passed, 1 = a threshold failed, 2 = bad input).
 */
@Command(name = "verify",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
                "Compare a converted model's logits with the JAX reference's golden logits.",
                "Each metric is checked against a bound (defaults below, by the model's encoding family).",
                "Runs the model on every golden prompt (or reads precomputed logits) and reports the max and RMS",
                "|Δlogit|, cosine, KL(golden||ours) mean/median/p99/max, same top-1, top-5 overlap, Δp and the",
                "perplexity ratio. JSON output (--json): docs/SCHEMAS.md.",
                "Exit code: 0 every bound passes, 1 a bound fails, 2 bad input. Golden format: docs/GOLDEN.md."},
        footerHeading = "%n")
public final class VerifyCommand implements Callable<Integer> {

    /**
     * Opens a converted model directory as a logit source. Package-private hook so the runtime
     * (ShardedModel + GrokModel) can be wired in one place, and tests can substitute a fake.
     */
    interface ModelOpener {
        OpenedModel open(Path modelDir, RuntimeOptions options) throws IOException;
    }

    /**
     * An opened model.
     *
     * @param source      its logits, e.g. {@code tokens -> grokModel.forward(tokens)}
     * @param family      the encoding family of its weights (from the manifest), for default thresholds
     * @param description how to name it in reports
     * @param resources   closed after the run (the mapped shards), may be null
     * @param config      the model's configuration, checked against golden.json's {@code config}; may be null
     */
    record OpenedModel(LogitSource source, Thresholds.Family family, String description, AutoCloseable resources,
                       ModelConfig config) {}

    /** The runtime over a converted model directory (replaced by fakes in tests). */
    static ModelOpener modelOpener = VerifyCommand::openWithRuntime;

    static OpenedModel openWithRuntime(Path dir, RuntimeOptions options) throws IOException {
        ModelWeights weights = ModelDirs.open(dir, "MODEL_DIR");
        try {
            GrokModel model = new GrokModel(weights, options);
            return new OpenedModel(model::forward, familyOf(weights), dir.toString(), () -> {
                model.close();
                weights.close();
            }, weights.config());
        } catch (IOException | RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** The encoding family of a model: the lossiest encoding among its matrices. */
    static Thresholds.Family familyOf(ModelWeights weights) {
        if (weights instanceof ShardedModel m) {
            return Thresholds.Family.ofEncodings(m.tensors().stream().map(t -> t.spec().name()).distinct().toList());
        }
        return Thresholds.Family.LOSSLESS;
    }

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL_DIR", description = "Converted model directory (grok convert output).")
    Path modelDir;

    @Option(names = "--golden", required = true, paramLabel = "DIR", description = "Golden directory: golden.json + .npy logits.")
    Path golden;

    @Option(names = "--logits-dir", paramLabel = "DIR",
            description = "Compare precomputed float32 [T, vocab] .npy logits named like the golden files of --mode, instead of running MODEL_DIR.")
    Path logitsDir;

    @Option(names = "--mode", defaultValue = "f32", paramLabel = "MODE",
            description = "Golden mode to compare against: f32 (tight, default) or bf16 (the reference's bf16 numerics).")
    String mode;

    @Option(names = "--encoding", paramLabel = "FAMILY",
            description = "Threshold family: lossless, q8 or int4. Default: from the model manifest; lossless for --logits-dir.")
    String encoding;

    @Mixin
    JsonOutputOption json;

    @Option(names = "--report", paramLabel = "DIR", description = "Write report.md, kl-per-position.png and result.json into DIR.")
    Path report;

    @Option(names = "--max-abs-diff", paramLabel = "X|off", description = "Bound on max |Δlogit|.")
    String maxAbsDiff;

    @Option(names = "--min-top1", paramLabel = "X|off", description = "Bound on the same-top-1 rate (0..1).")
    String minTop1;

    @Option(names = "--max-mean-kl", paramLabel = "X|off", description = "Bound on the mean KL(golden||ours).")
    String maxMeanKl;

    @Option(names = "--max-p99-kl", paramLabel = "X|off", description = "Bound on the 99th-percentile KL.")
    String maxP99Kl;

    @Option(names = "--max-kl", paramLabel = "X|off", description = "Bound on the largest per-position KL.")
    String maxKl;

    @Option(names = "--min-top5", paramLabel = "X|off", description = "Bound on the mean top-5 overlap (0..1).")
    String minTop5;

    @Mixin
    QuietOption quiet;

    @Mixin
    ThreadsOption threads;

    /** The bounds' defaults per threshold family, generated from {@link Thresholds#defaults} for the help footer. */
    static String[] defaultsFooter() {
        java.util.List<String> lines = new java.util.ArrayList<>();
        lines.add("Default bounds by threshold family (f32 goldens; \"off\" = not checked; a flag overrides one bound):");
        lines.add(String.format(java.util.Locale.ROOT, "  %-9s %-15s %-11s %-14s %-13s %-9s %s", "family", "--max-abs-diff", "--min-top1",
                "--max-mean-kl", "--max-p99-kl", "--max-kl", "--min-top5"));
        for (Thresholds.Family f : Thresholds.Family.values()) {
            Thresholds t = Thresholds.defaults(f, "f32");
            lines.add(String.format(java.util.Locale.ROOT, "  %-9s %-15s %-11s %-14s %-13s %-9s %s", f.label(), b(t.maxAbsDiff()), b(t.minSameTop1()),
                    b(t.maxMeanKl()), b(t.maxP99Kl()), b(t.maxMaxKl()), b(t.minTop5Overlap())));
        }
        Thresholds bf = Thresholds.defaults(Thresholds.Family.LOSSLESS, "bf16");
        lines.add("  --mode bf16, lossless: --max-abs-diff " + b(bf.maxAbsDiff()) + ", --min-top1 " + b(bf.minSameTop1())
                + ", --max-mean-kl " + b(bf.maxMeanKl()) + ", --max-p99-kl " + b(bf.maxP99Kl()) + "; the reasons: docs/GOLDEN.md.");
        lines.add("");
        lines.add("Examples:");
        lines.add("  grok verify grok-1-int8 --golden golden/ --report report/");
        lines.add("  grok verify grok-1-int4 --golden golden/ --json - | jq .overall.kl_mean   (docs/SCHEMAS.md)");
        lines.add("  grok verify --logits-dir ours/ --golden golden/ --max-mean-kl 0.01");
        return lines.toArray(String[]::new);
    }

    private static String b(Double v) {
        return v == null ? "off" : Report.num(v);
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if ((modelDir == null) == (logitsDir == null)) {
            throw new BadInputException("give either MODEL_DIR or --logits-dir DIR (exactly one)");
        }
        // With --json - stdout is the JSON document alone; the human-readable summary goes to stderr.
        PrintWriter human = json.toStdout() ? err : out;
        if (report != null && java.nio.file.Files.exists(report) && !java.nio.file.Files.isDirectory(report)) {
            throw new BadInputException("--report " + report + ": exists and is not a directory");
        }
        if (json.given() && !json.toStdout()) grokkit.io.OutputFiles.checkReplaceable(json.file(), "--json");
        GoldenSet set = GoldenSet.read(golden);
        set.requireMode(mode);

        OpenedModel opened = null;
        try {
            LogitSource source;
            String sourceName;
            Thresholds.Family family;
            if (logitsDir != null) {
                source = new LogitsDirSource(set, logitsDir, mode);
                sourceName = "logits " + logitsDir;
                family = Thresholds.Family.LOSSLESS;
            } else {
                RuntimeOptions options = RuntimeOptions.defaults().withThreads(threads.resolve());
                opened = modelOpener.open(modelDir, options);
                if (opened.config() != null) set.requireSameModel(opened.config(), "MODEL_DIR " + modelDir);
                source = opened.source();
                sourceName = "model " + opened.description();
                family = opened.family();
            }
            if (encoding != null) {
                try {
                    family = Thresholds.Family.parse(encoding);
                } catch (IllegalArgumentException e) {
                    throw new BadInputException("--encoding: " + e.getMessage());
                }
            }
            Thresholds th = thresholds(Thresholds.defaults(family, mode));
            VerifyResult r = Verifier.verify(set, mode, source, sourceName, th, line -> {
                if (!quiet.quiet()) {
                    err.println("verify: " + line);
                    err.flush();
                }
            });
            human.print(Report.terminal(r));
            human.flush();
            ReportContext ctx = context();
            if (json.given()) {
                if (json.toStdout()) json.write(r.toJson(ctx), out);
                else Report.writeJson(r, json.file(), ctx);
            }
            if (report != null) {
                Report.writeReportDir(r, report, ctx);
                human.println("report: " + report.resolve(Report.MARKDOWN));
                human.flush();
            }
            return r.passed() ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
        } finally {
            if (opened != null && opened.resources() != null) opened.resources().close();
        }
    }

    /** What the report names besides the metrics: the model, its encodings and size, the build, the date and the command. */
    private ReportContext context() {
        String date = java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC).withNano(0).toString();
        String command = "grok " + String.join(" ", spec.root().commandLine().getParseResult() == null ? java.util.List.of()
                : spec.root().commandLine().getParseResult().originalArgs());
        if (modelDir == null || !java.nio.file.Files.isRegularFile(modelDir.resolve(Manifest.FILE_NAME)))
            return new ReportContext(logitsDir != null ? logitsDir.getFileName() + " (precomputed logits)" : null,
                    java.util.List.of(), -1, Double.NaN, VersionInfo.describe(), date, command);
        try {
            Manifest m = Manifest.read(modelDir);
            java.util.TreeSet<String> encodings = new java.util.TreeSet<>();
            long bytes = 0, matrixBytes = 0, weights = 0;
            for (TensorRecord t : m.tensors()) {
                long b = t.weights().length() + (t.scales() == null ? 0 : t.scales().length());
                bytes += b;
                if (t.in() > 0 && t.out() > 0) {
                    encodings.add(t.encoding().name() + (t.encoding().groupSize() > 0 ? ":" + t.encoding().groupSize() + ":" + t.encoding().scaleType() : ""));
                    matrixBytes += b;
                    weights += (long) t.in() * t.out();
                }
            }
            Path name = modelDir.toAbsolutePath().normalize().getFileName();
            return new ReportContext(name == null ? modelDir.toString() : name.toString(), java.util.List.copyOf(encodings), bytes,
                    weights == 0 ? Double.NaN : 8.0 * matrixBytes / weights, VersionInfo.describe(), date, command);
        } catch (IOException e) {
            return new ReportContext(modelDir.toString(), java.util.List.of(), -1, Double.NaN, VersionInfo.describe(), date, command);
        }
    }

    private Thresholds thresholds(Thresholds t) throws BadInputException {
        boolean overridden = false;
        if (maxAbsDiff != null) { t = t.withMaxAbsDiff(bound("--max-abs-diff", maxAbsDiff)); overridden = true; }
        if (minTop1 != null) { t = t.withMinSameTop1(bound("--min-top1", minTop1)); overridden = true; }
        if (maxMeanKl != null) { t = t.withMaxMeanKl(bound("--max-mean-kl", maxMeanKl)); overridden = true; }
        if (maxP99Kl != null) { t = t.withMaxP99Kl(bound("--max-p99-kl", maxP99Kl)); overridden = true; }
        if (maxKl != null) { t = t.withMaxMaxKl(bound("--max-kl", maxKl)); overridden = true; }
        if (minTop5 != null) { t = t.withMinTop5Overlap(bound("--min-top5", minTop5)); overridden = true; }
        return overridden ? t.withProfile(t.profile() + " + flags") : t;
    }

    /** A bound value: a non-negative number, or {@code off} to disable the check. */
    static Double bound(String option, String value) throws BadInputException {
        String v = value.trim();
        if (v.equalsIgnoreCase("off") || v.equalsIgnoreCase("none")) return null;
        try {
            double d = Double.parseDouble(v);
            if (Double.isNaN(d) || d < 0) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new BadInputException(option + ": expected a non-negative number or 'off', got '" + value + "'");
        }
    }
}
