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

    /** llama-quantize --pure of our f32 export to TYPE, attention and embeddings kept f32, as the export's overrides. */
    static Path llamaQuantizePure(String type, Path imatrixOrNull) throws Exception {
        Path theirs = tmp.resolve("llama-pure-" + type + (imatrixOrNull == null ? "" : "-im") + ".gguf");
        List<String> cmd = new ArrayList<>(List.of(bin.resolve("llama-quantize").toString()));
        if (imatrixOrNull != null) cmd.addAll(List.of("--imatrix", imatrixOrNull.toString()));
        cmd.addAll(List.of("--pure", "--token-embedding-type", "f32", "--output-tensor-type", "f32"));
        for (String t : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) cmd.addAll(List.of("--tensor-type", t + "=f32"));
        // With --imatrix, llama-quantize lays tensors out for 32-byte alignment but keeps our
        // general.alignment of 64 (the file then fails to load); the override keeps them consistent.
        cmd.addAll(List.of("--override-kv", "general.alignment=int:32"));
        cmd.addAll(List.of(tmp.resolve("f32.gguf").toString(), theirs.toString(), type.toUpperCase(Locale.ROOT), "2"));
        Run q = run(cmd);
        assertThat(q.exit()).as(q.err()).isZero();
        return theirs;
    }

    /**
     * Issue 10's bar, on the 12-layer fixture: experts at a 4-bit type, attention and embeddings
     * f32 on both sides, our export's mean KL against the golden (as llama.cpp computes the
     * logits) at most 0.8x that of llama-quantize --pure on our f32 export, with no more tensor
     * bytes; without and with importance matrices from the same calibration text (ours from grok
     * imatrix, theirs from llama-imatrix). Measured 0.63x/0.65x (q4_0) and 0.70x (iq4_nl); q4_k
     * (0.75-0.77x, docs/benchmarks/gguf-quality.md) is in the benchmark, not here, as its margin
     * is within llama.cpp's run-to-run spread of KL on this model.
     */
    @Test
    void fourBitExportsBeatLlamaQuantizePure() throws Exception {
        assumeTrue(bin != null, "skipped: ../shared/llamacpp is absent");
        export("f32.gguf", "--type", "f32");
        Path cal = ROOT.resolve("golden-tests/fixtures/calibration/tiny-calibration.txt");
        Path int8 = tmp.resolve("int8");
        ExportCommandTest.Result c = ExportCommandTest.grok("convert", FIXTURE.resolve("ckpt-0").toString(), int8.toString(), "--model-config",
                FIXTURE.resolve("config.json").toString(), "--tokenizer", ROOT.resolve("golden-tests/fixtures/tokenizer/tiny.model").toString(), "-q");
        assertThat(c.exit()).as(c.err()).isZero();
        Path ours = tmp.resolve("ours.imatrix.json");
        c = ExportCommandTest.grok("imatrix", int8.toString(), "--text", cal.toString(), "--context", "128", "--out", ours.toString(), "-q");
        assertThat(c.exit()).as(c.err()).isZero();
        Path theirs = tmp.resolve("theirs.imatrix.gguf");
        Run im = run(List.of(bin.resolve("llama-imatrix").toString(), "-m", tmp.resolve("f32.gguf").toString(), "-f", cal.toString(), "-c", "128",
                "-o", theirs.toString(), "-t", "2", "--no-ppl"));
        assertThat(im.exit()).as(im.err()).isZero();
        record Case(String type, boolean imatrix) {}
        for (Case k : List.of(new Case("q4_0", false), new Case("iq4_nl", false), new Case("q4_0", true))) {
            List<String> opts = new ArrayList<>(List.of("--type", k.type(), "--attention-type", "f32", "--embedding-type", "f32"));
            if (k.imatrix()) opts.addAll(List.of("--imatrix", ours.toString()));
            Path mine = export("ours-" + k.type() + (k.imatrix() ? "-im" : "") + ".gguf", opts.toArray(String[]::new));
            Path ref = llamaQuantizePure(k.type(), k.imatrix() ? theirs : null);
            StringBuilder err = new StringBuilder();
            Score a = score(mine, err), b = score(ref, new StringBuilder());
            assertThat(a.meanKl()).as("%s%s: our mean KL %.4f vs llama-quantize --pure %.4f", k.type(), k.imatrix() ? " with imatrix" : "",
                    a.meanKl(), b.meanKl()).isLessThanOrEqualTo(0.8 * b.meanKl());
            assertThat(tensorBytes(mine)).as("%s tensor bytes", k.type()).isLessThanOrEqualTo(tensorBytes(ref));
            assertNoTrouble("dump_logits " + k.type(), err.toString());
        }
    }

    /** The bytes of a GGUF's tensor data (the file less its header and key-value section). */
    static long tensorBytes(Path gguf) throws IOException {
        grokkit.gguf.GgufFile g = grokkit.gguf.GgufFile.read(gguf);
        return g.fileSize() - g.dataStart();
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
