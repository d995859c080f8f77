package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.io.Npy;
import grokkit.verify.Metrics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Our GGUF exports of the 12-layer fixture in llama.cpp itself ({@code ../shared/llamacpp}:
 * dump_logits, llama-quantize, llama-bench), against the reference's float32 golden logits.
 * Skipped, saying so, when that build is absent.
 *
 * <p>Positions from a prompt's first pad token on are left out: the reference masks keys equal
 * to {@code pad_token}, llama.cpp does not (it has no pad mask), so those positions differ by
 * design, not by the export (docs/EXPORT.md).
 */
class LlamaCppExportTest {
    static final Path ROOT = Path.of(System.getProperty("grok.root", "."));
    static final Path FIXTURE = ROOT.resolve("golden-tests/fixtures/tiny-12l");
    static final Pattern TROUBLE = Pattern.compile("(?i)warn|missing|not found|fail|error");
    static Path bin;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void findLlamaCpp() {
        Path b = ROOT.resolve("../shared/llamacpp/bin").normalize();
        bin = Files.isExecutable(b.resolve("dump_logits")) ? b : null;
        if (bin == null) System.out.println("LlamaCppExportTest: skipped: " + b + " (the llama.cpp build) is absent");
    }

    record Run(int exit, String out, String err) {}

    static Run run(List<String> cmd) throws IOException, InterruptedException {
        Path o = Files.createTempFile(tmp, "out", ".txt"), e = Files.createTempFile(tmp, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(o.toFile()).redirectError(e.toFile()).start();
        assertThat(p.waitFor(600, TimeUnit.SECONDS)).as("%s finished", cmd).isTrue();
        return new Run(p.exitValue(), Files.readString(o), Files.readString(e));
    }

    static List<int[]> prompts() throws IOException {
        List<int[]> out = new ArrayList<>();
        for (JsonNode p : new ObjectMapper().readTree(FIXTURE.resolve("prompts.json").toFile())) {
            JsonNode toks = p.has("tokens") ? p.get("tokens") : p;
            int[] t = new int[toks.size()];
            for (int i = 0; i < t.length; i++) t[i] = toks.get(i).asInt();
            out.add(t);
        }
        return out;
    }

    static Path export(String name, String... extra) {
        Path out = tmp.resolve(name);
        if (Files.exists(out)) return out;
        List<String> a = new ArrayList<>(List.of("export", FIXTURE.resolve("ckpt-0").toString(), out.toString(), "--model-config",
                FIXTURE.resolve("config.json").toString(), "--tokenizer", ROOT.resolve("golden-tests/fixtures/tokenizer/tiny.model").toString(),
                "--threads", "2"));
        a.addAll(List.of(extra));
        ExportCommandTest.Result r = ExportCommandTest.grok(a.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        return out;
    }

    /** llama.cpp's logits of prompt k (all positions), and dump_logits's stderr. */
    static float[][] logits(Path model, int k, int[] tokens, StringBuilder stderr) throws Exception {
        Path npy = tmp.resolve(model.getFileName() + ".p" + k + ".npy");
        StringBuilder ids = new StringBuilder();
        for (int t : tokens) ids.append(ids.isEmpty() ? "" : ",").append(t);
        Run r = run(List.of(bin.resolve("dump_logits").toString(), model.toString(), ids.toString(), npy.toString(), "--threads", "2"));
        assertThat(r.exit()).as(r.err()).isZero();
        stderr.append(r.err());
        return Npy.readMatrix(npy);
    }

    record Score(double maxAbs, double top1, double meanKl, int positions) {}

    /** Against the f32 golden, positions before each prompt's first pad. */
    static Score score(Path model, StringBuilder stderr) throws Exception {
        List<int[]> prompts = prompts();
        double max = 0, kl = 0;
        int same = 0, n = 0;
        for (int k = 0; k < prompts.size(); k++) {
            int[] t = prompts.get(k);
            int upTo = t.length;
            for (int i = 0; i < t.length; i++) if (t[i] == 0) { upTo = i; break; }
            float[][] ours = logits(model, k, t, stderr);
            float[][] golden = Npy.readMatrix(FIXTURE.resolve("golden/p" + k + ".f32.npy"));
            for (int pos = 0; pos < upTo; pos++) {
                for (int v = 0; v < golden[pos].length; v++) max = Math.max(max, Math.abs(ours[pos][v] - golden[pos][v]));
                if (Metrics.argmax(ours[pos]) == Metrics.argmax(golden[pos])) same++;
                kl += Metrics.klDivergence(Metrics.logSoftmax(golden[pos]), Metrics.logSoftmax(ours[pos]));
                n++;
            }
        }
        Score s = new Score(max, (double) same / n, kl / n, n);
        System.out.printf(Locale.ROOT, "LlamaCppExportTest: %s: max |dlogit| %.4g, same top-1 %.2f%%, mean KL %.5g over %d positions%n",
                model.getFileName(), s.maxAbs(), 100 * s.top1(), s.meanKl(), s.positions());
        return s;
    }

    static void assertNoTrouble(String what, String stderr) {
        List<String> bad = stderr.lines().filter(l -> TROUBLE.matcher(l).find()).toList();
        assertThat(bad).as("%s: stderr lines about warnings or missing keys", what).isEmpty();
    }

    @Test
    void f32ExportMatchesTheGoldenLogitsInLlamaCpp() throws Exception {
        assumeTrue(bin != null, "skipped: ../shared/llamacpp is absent");
        StringBuilder err = new StringBuilder();
        Score s = score(export("f32.gguf", "--type", "f32"), err);
        assertThat(s.maxAbs()).isLessThanOrEqualTo(3e-2);
        assertThat(s.top1()).isGreaterThanOrEqualTo(0.99);
        assertThat(err.toString()).contains("arch                  = grok", "n_expert              = 8", "n_head_kv             = 2",
                "f_logit_scale         = 5.8e-01", "file type   = all F32");
        assertNoTrouble("dump_logits f32", err.toString());
    }

    @Test
    void q8_0ExportIsNoWorseThanLlamaQuantizesQ8_0() throws Exception {
        assumeTrue(bin != null, "skipped: ../shared/llamacpp is absent");
        Path f32 = export("f32.gguf", "--type", "f32");
        Path theirs = tmp.resolve("llama-q8_0.gguf");
        Run q = run(List.of(bin.resolve("llama-quantize").toString(), f32.toString(), theirs.toString(), "Q8_0", "2"));
        assertThat(q.exit()).as(q.err()).isZero();
        StringBuilder err = new StringBuilder();
        Score ours = score(export("q8_0.gguf", "--type", "q8_0"), err);
        Score ref = score(theirs, new StringBuilder());
        assertThat(ours.meanKl()).isLessThanOrEqualTo(ref.meanKl());
        assertThat(Files.size(tmp.resolve("q8_0.gguf"))).isLessThanOrEqualTo(Files.size(theirs));
        assertNoTrouble("dump_logits q8_0", err.toString());
    }

    @Test
    void exportsLoadInLlamaBenchWithoutWarnings() throws Exception {
        assumeTrue(bin != null, "skipped: ../shared/llamacpp is absent");
        for (String type : new String[] {"f32", "q8_0"}) {
            Path m = export(type + ".gguf", "--type", type);
            Run r = run(List.of(bin.resolve("llama-bench").toString(), "-m", m.toString(), "-t", "2", "-p", "8", "-n", "4", "-r", "1", "-v"));
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains("grok", "pp8", "tg4");
            assertNoTrouble("llama-bench " + type, r.err());
        }
    }

    @Test
    void splitExportLoadsFromItsFirstShardWithTheSameLogits() throws Exception {
        assumeTrue(bin != null, "skipped: ../shared/llamacpp is absent");
        Path whole = export("f32.gguf", "--type", "f32");
        export("split.gguf", "--type", "f32", "--split-max-size", "20M");
        List<Path> shards;
        try (Stream<Path> s = Files.list(tmp)) {
            shards = s.filter(p -> p.getFileName().toString().matches("split-\\d{5}-of-\\d{5}\\.gguf")).sorted().toList();
        }
        assertThat(shards).hasSizeGreaterThanOrEqualTo(3);
        int[] t = prompts().get(2);
        StringBuilder err = new StringBuilder();
        float[][] a = logits(whole, 2, t, new StringBuilder()), b = logits(shards.getFirst(), 2, t, err);
        assertThat(err.toString()).contains("additional " + (shards.size() - 1) + " GGUFs");
        for (int pos = 0; pos < a.length; pos++) assertThat(b[pos]).as("position %d", pos).containsExactly(a[pos]);
        assertNoTrouble("dump_logits split", err.toString());
    }
}
