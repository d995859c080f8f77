package grokkit.verify;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a {@link VerifyResult}: the terminal table, the {@code --json} file and the
 * {@code --report} directory (Markdown summary + PNG of per-position KL). Files are written to a
 * temporary name and renamed, so no half-written report is left under its final name.
 */
public final class Report {
    public static final String MARKDOWN = "report.md";
    public static final String KL_PNG = "kl-per-position.png";
    public static final String JSON = "result.json";

    private Report() {}

    /** Compact number: scientific below 1e-3, otherwise 4 significant digits; NaN as "n/a". */
    public static String num(double v) {
        if (Double.isNaN(v)) return "n/a";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a < 1e-3 || a >= 1e6) return String.format(Locale.ROOT, "%.2e", v);
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String pct(double v) {
        if (Math.abs(100 * v) < 0.0005) v = 0; // no "-0.000%"
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f%%", 100 * v);
    }

    private static final String[] HEADER = {"prompt", "T", "max|Δ|", "RMS Δ", "cos min", "KL mean", "KL median",
            "KL p99", "KL max", "top-1", "top-5", "RMS Δp", "PPL ratio"};

    private static String[] row(String name, Metrics.Summary s) {
        return new String[] {name, Integer.toString(s.positions()), num(s.maxAbsDiff()), num(s.rmsAbsDiff()),
                cos(s.cosineMin()), num(s.klMean()), num(s.klMedian()), num(s.klP99()), num(s.klMax()),
                pct(s.sameTop1Rate()), pct(s.top5Overlap()), pct(s.deltaPRms()), ratio(s.pplRatio())};
    }

    private static String cos(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.7f", v);
    }

    private static String ratio(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.6f", v);
    }

    private static List<String[]> rows(VerifyResult r) {
        List<String[]> rows = new ArrayList<>();
        for (VerifyResult.PromptResult p : r.prompts()) rows.add(row("k=" + p.k(), p.summary()));
        rows.add(row("all", r.overall()));
        return rows;
    }

    /** The terminal output: per-prompt table, llama.cpp-style statistics, checks and verdict. */
    public static String terminal(VerifyResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append("golden ").append(r.golden()).append(" (mode ").append(r.mode()).append(")  vs  ")
                .append(r.source()).append('\n').append('\n');
        List<String[]> rows = rows(r);
        int[] w = new int[HEADER.length];
        for (int c = 0; c < w.length; c++) {
            w[c] = HEADER[c].length();
            for (String[] row : rows) w[c] = Math.max(w[c], row[c].length());
        }
        appendRow(sb, HEADER, w);
        StringBuilder rule = new StringBuilder();
        for (int c = 0; c < w.length; c++) rule.append(c == 0 ? "" : "  ").append("-".repeat(w[c]));
        sb.append(rule).append('\n');
        for (int i = 0; i < rows.size(); i++) {
            if (i == rows.size() - 1) sb.append(rule).append('\n');
            appendRow(sb, rows.get(i), w);
        }
        sb.append('\n').append(llamaCppStyle(r.overall()));
        sb.append('\n').append("thresholds (").append(r.thresholds().profile()).append("), all prompts pooled:\n");
        for (Thresholds.Check c : r.checks()) sb.append("  ").append(c.describe()).append('\n');
        sb.append('\n').append(r.passed() ? "PASS" : "FAIL: " + r.failures().size() + " threshold(s) failed").append('\n');
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, String[] cells, int[] w) {
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) sb.append("  ");
            String pad = " ".repeat(w[c] - cells[c].length());
            sb.append(c == 0 ? cells[c] + pad : pad + cells[c]);
        }
        sb.append('\n');
    }

    /** The pooled statistics with llama.cpp's names (Q = ours, base = golden). */
    static String llamaCppStyle(Metrics.Summary s) {
        StringBuilder sb = new StringBuilder();
        sb.append("====== Perplexity statistics (next prompt token; ").append(s.pplTargets()).append(" targets) ======\n");
        sb.append(String.format(Locale.ROOT, "Mean PPL(Q)                   : %s%n", ratio(s.pplOurs())));
        sb.append(String.format(Locale.ROOT, "Mean PPL(base)                : %s%n", ratio(s.pplGolden())));
        sb.append(String.format(Locale.ROOT, "Mean PPL(Q)/PPL(base)         : %s%n", ratio(s.pplRatio())));
        sb.append("====== KL divergence statistics ======\n");
        sb.append("Mean    KLD: ").append(num(s.klMean())).append('\n');
        sb.append("Maximum KLD: ").append(num(s.klMax())).append('\n');
        sb.append("99.0%   KLD: ").append(num(s.klP99())).append('\n');
        sb.append("90.0%   KLD: ").append(num(s.klP90())).append('\n');
        sb.append("Median  KLD: ").append(num(s.klMedian())).append('\n');
        sb.append("====== Token probability statistics (Δp of the golden top-1 token) ======\n");
        sb.append("Mean    Δp: ").append(pct(s.deltaPMean())).append('\n');
        sb.append("Maximum Δp: ").append(pct(s.deltaPMax())).append('\n');
        sb.append("99.0%   Δp: ").append(pct(s.deltaPP99())).append('\n');
        sb.append("Median  Δp: ").append(pct(s.deltaPMedian())).append('\n');
        sb.append(" 1.0%   Δp: ").append(pct(s.deltaPP1())).append('\n');
        sb.append("Minimum Δp: ").append(pct(s.deltaPMin())).append('\n');
        sb.append("RMS Δp    : ").append(pct(s.deltaPRms())).append('\n');
        sb.append("Same top p: ").append(pct(s.sameTop1Rate())).append('\n');
        return sb.toString();
    }

    /** The Markdown summary written to {@code report.md}. */
    public static String markdown(VerifyResult r) {
        return markdown(r, ReportContext.unknown());
    }

    /** The Markdown summary, naming what was verified and how (model, encodings, size, build, date, command). */
    public static String markdown(VerifyResult r, ReportContext ctx) {
        StringBuilder sb = new StringBuilder();
        sb.append("# grok verify: ").append(r.passed() ? "PASS" : "FAIL")
                .append(ctx.modelName() == null ? "" : " (" + ctx.modelName() + ")").append("\n\n");
        sb.append("| | |\n|---|---|\n");
        sb.append("| golden | `").append(r.golden()).append("` |\n");
        sb.append("| mode | `").append(r.mode()).append("` |\n");
        sb.append("| ours | `").append(r.source()).append("` |\n");
        if (ctx.encodings() != null && !ctx.encodings().isEmpty())
            sb.append("| weight encodings | `").append(String.join("`, `", ctx.encodings())).append("` |\n");
        if (ctx.sizeBytes() >= 0)
            sb.append("| size | ").append(String.format(java.util.Locale.ROOT, "%,d bytes (%.2f MiB)", ctx.sizeBytes(), ctx.sizeBytes() / 1048576.0)).append(" |\n");
        if (Double.isFinite(ctx.bitsPerWeight()))
            sb.append("| bits per weight | ").append(String.format(java.util.Locale.ROOT, "%.3f (matrices, scales included)", ctx.bitsPerWeight())).append(" |\n");
        sb.append("| vocabulary | ").append(r.vocab()).append(" |\n");
        if (ctx.grokKit() != null) sb.append("| verified by | ").append(ctx.grokKit()).append(" |\n");
        if (ctx.date() != null) sb.append("| date | ").append(ctx.date()).append(" |\n");
        if (ctx.command() != null) sb.append("| command | `").append(ctx.command().replace("`", "'")).append("` |\n");
        sb.append("| thresholds | `").append(r.thresholds().profile()).append("` |\n\n");

        sb.append("## Thresholds (all prompts pooled)\n\n| check | value | bound | result |\n|---|---:|---:|---|\n");
        for (Thresholds.Check c : r.checks()) {
            sb.append("| ").append(c.label()).append(" | ").append(num(c.value())).append(" | ").append(c.op()
                    .replace("<=", "≤").replace(">=", "≥")).append(' ').append(num(c.limit())).append(" | ")
                    .append(c.passed() ? "pass" : "**FAIL**").append(" |\n");
        }
        sb.append("\n## Per prompt\n\n|");
        for (String h : HEADER) sb.append(' ').append(h.replace("|", "\\|")).append(" |");
        sb.append("\n|---|");
        sb.append("---:|".repeat(HEADER.length - 1)).append('\n');
        for (String[] row : rows(r)) {
            sb.append('|');
            for (String c : row) sb.append(' ').append(c).append(" |");
            sb.append('\n');
        }
        sb.append("\nThe last row pools every position of every prompt.\n\n");
        sb.append("## Statistics in llama.cpp's terms (Q = ours, base = golden)\n\n```\n")
                .append(llamaCppStyle(r.overall())).append("```\n\n");
        sb.append("## KL divergence per position\n\n![KL(golden ‖ ours) per position](").append(KL_PNG).append(")\n\n");
        boolean any = false;
        for (VerifyResult.PromptResult p : r.prompts()) {
            if (p.top1Mismatches().length > 0) {
                if (!any) sb.append("Positions whose top-1 token differs from the golden one:\n\n");
                any = true;
                sb.append("- prompt k=").append(p.k()).append(": ").append(java.util.Arrays.toString(p.top1Mismatches())).append('\n');
            }
        }
        if (!any) sb.append("The top-1 token agrees with the golden one at every position.\n");
        sb.append("\nDefinitions: see docs/GOLDEN.md in grok-kit.\n");
        return sb.toString();
    }

    /** Writes the {@code --json} file. */
    public static void writeJson(VerifyResult r, Path file) throws IOException {
        writeAtomically(file, r.toJson().getBytes(StandardCharsets.UTF_8));
    }

    /** Writes the {@code --json} file with the run's context. */
    public static void writeJson(VerifyResult r, Path file, ReportContext ctx) throws IOException {
        writeAtomically(file, r.toJson(ctx).getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code report.md}, {@code kl-per-position.png} and {@code result.json} into {@code dir}. */
    public static void writeReportDir(VerifyResult r, Path dir) throws IOException {
        writeReportDir(r, dir, ReportContext.unknown());
    }

    /** As {@link #writeReportDir(VerifyResult, Path)}, naming the model and the run. */
    public static void writeReportDir(VerifyResult r, Path dir, ReportContext ctx) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new grokkit.errors.BadInputException(dir + ": cannot create the report directory: " + e, e);
        }
        writeAtomically(dir.resolve(KL_PNG), KlPlot.png(r, ctx.modelName()));
        writeAtomically(dir.resolve(JSON), r.toJson(ctx).getBytes(StandardCharsets.UTF_8));
        writeAtomically(dir.resolve(MARKDOWN), markdown(r, ctx).getBytes(StandardCharsets.UTF_8));
    }

    static void writeAtomically(Path file, byte[] bytes) throws IOException {
        grokkit.io.OutputFiles.write(file, "", bytes);
    }
}
