package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.checkpoint.SyntheticCheckpoint;
import grokkit.model.ModelConfig;
import grokkit.pickle.PickleWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code grok inspect} end to end: output formats, and exit code 2 with a precise message for bad input. */
class InspectCommandTest {
    /** 11 layers (string order 0, 1, 10, 2, ...), emb 32, vocab 96, 4 experts, ffn 16, 4 q / 2 kv heads of 8. */
    static final ModelConfig CONFIG = new ModelConfig(96, 32, 8, 4, 2, 11, 4, 2, 8.0, 16,
            78.38367176906169, 0.5773502691896257, 1 / Math.sqrt(8), 30.0, 1e-5, 10000.0, 0, 2, 256);
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static Path ckpt;
    static Path configFile;

    record Result(int exit, String out, String err) {}

    static Result grok(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = GrokCli.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @BeforeAll
    static void writeCheckpoint() throws IOException {
        ckpt = shared.resolve("ckpt-0");
        SyntheticCheckpoint.write(ckpt, CONFIG, SyntheticCheckpoint.Style.RELEASE, 11);
        configFile = shared.resolve("config.json");
        Files.writeString(configFile, "{\"key_size\": 8, \"num_q_heads\": 4, \"num_kv_heads\": 2, \"seed\": 3}");
    }

    static Path copy(Path tmp) throws IOException {
        Path dir = tmp.resolve("ckpt-0");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(ckpt)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    @Test
    void tableListsEveryFileInOrderWithLayoutsAndTotals() {
        Result r = grok("inspect", ckpt.toString(), "--model-config", configFile.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.getFirst()).isEqualTo("checkpoint " + ckpt + ": 134 files, 11 layers");
        List<String> rows = lines.stream().filter(l -> l.matches("\\s*\\d+  tensor.*")).toList();
        assertThat(rows).hasSize(134);
        assertThat(rows.get(0)).contains("tensor00000_000", "language_model/in_out_embed/embeddings", "f32 array", "float32", "[96, 32]", "12,288");
        assertThat(rows.get(26)).contains("tensor00026_000", "transformer/decoder_layer_10/moe/linear/w", "int8+bf16 scales",
                "int8", "[4, 32, 16]", "bfloat16", "[4, 1, 16]", "per-column");
        assertThat(rows.get(27)).contains("transformer/decoder_layer_10/moe/linear_1/w", "[4, 8, 32]", "row-block x8");
        assertThat(rows.get(38)).contains("transformer/decoder_layer_2/moe/linear/w");
        assertThat(r.out()).contains("f32 array:", "int8 weight + bf16 scales:", "total:                      134 tensors");
        assertThat(r.out()).contains("note: inferred from the checkpoint: num_layers=11 vocab_size=96 emb_size=32 num_experts=4 ffn_size=16");
    }

    @Test
    void jsonDocumentHasTheDocumentedFieldsAndTotals() throws Exception {
        Result r = grok("inspect", ckpt.toString(), "--model-config", configFile.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode doc = JSON.readTree(r.out());
        assertThat(fieldNames(doc)).containsExactly("schema_version", "config", "tensors", "total_params", "total_bytes");
        assertThat(doc.get("schema_version").asInt()).isEqualTo(InspectCommand.SCHEMA_VERSION);
        assertThat(fieldNames(doc.get("config"))).containsExactlyElementsOf(ModelConfig.FIELDS);
        assertThat(doc.get("config").get("num_layers").asInt()).isEqualTo(11);
        assertThat(doc.get("config").get("key_size").asInt()).isEqualTo(8);
        JsonNode tensors = doc.get("tensors");
        assertThat(tensors).hasSize(134);
        long params = 0, bytes = 0;
        for (JsonNode t : tensors) {
            assertThat(fieldNames(t)).containsExactly("index", "file", "name", "kind", "dtype", "shape", "scales_dtype", "scales_shape", "bytes");
            long n = 1;
            for (JsonNode d : t.get("shape")) n *= d.asLong();
            params += n;
            bytes += t.get("bytes").asLong();
        }
        assertThat(doc.get("total_params").asLong()).isEqualTo(params);
        assertThat(doc.get("total_bytes").asLong()).isEqualTo(bytes);
        JsonNode emb = tensors.get(0);
        assertThat(emb.get("kind").asText()).isEqualTo("f32");
        assertThat(emb.get("scales_dtype").isNull()).isTrue();
        assertThat(emb.get("bytes").asLong()).isEqualTo(96 * 32 * 4);
        JsonNode out = tensors.get(30);
        assertThat(out.get("name").asText()).isEqualTo("transformer/decoder_layer_10/multi_head_attention/linear/w");
        assertThat(out.get("kind").asText()).isEqualTo("int8_bf16_scales");
        assertThat(out.get("dtype").asText()).isEqualTo("int8");
        assertThat(out.get("scales_dtype").asText()).isEqualTo("bfloat16");
        assertThat(out.get("scales_shape").toString()).isEqualTo("[8,32]");
        assertThat(out.get("bytes").asLong()).isEqualTo(32 * 32 + 8 * 32 * 2);
        // notes go to stderr so stdout stays one JSON document
        assertThat(r.err()).contains("note: ");
        // stable: the same input gives the same bytes
        assertThat(grok("inspect", ckpt.toString(), "--model-config", configFile.toString(), "--json").out()).isEqualTo(r.out());
    }

    @Test
    void touchReadsEveryArrayByte() throws Exception {
        Result json = grok("inspect", ckpt.toString(), "--model-config", configFile.toString(), "--json", "--touch");
        assertThat(json.exit()).as(json.err()).isZero();
        long total = JSON.readTree(json.out()).get("total_bytes").asLong();
        assertThat(json.err()).containsPattern("touched " + String.format("%,d", total) + " array bytes in [0-9.]+ s");
        Result table = grok("inspect", ckpt.toString(), "--touch");
        assertThat(table.out()).contains("touched " + String.format("%,d", total) + " array bytes");
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) out.add(it.next());
        return out;
    }

    // ---- bad input: exit 2, message naming the file and the problem, nothing printed, nothing written

    static void assertBadInput(Path dir, String... messageParts) throws IOException {
        List<String> before = listing(dir.getParent());
        Result r = grok("inspect", dir.toString(), "--infer-config"); // no config: the file checks come first
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("grok inspect: error: ").contains(messageParts);
        assertThat(listing(dir.getParent())).as("nothing written").isEqualTo(before);
        assertThat(Path.of("/tmp/grokkit-pwned")).doesNotExist();
    }

    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> p + ":" + p.toFile().length()).sorted().toList();
        }
    }

    static void hostile(Path file, String module, String name, Object arg) throws IOException {
        PickleWriter w = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        w.global(module, name).string(String.valueOf(arg)).raw(0x85, 'R', '.');
        Files.write(file, w.toByteArray());
    }

    @Test
    void hostileGlobals(@TempDir Path tmp) throws IOException {
        Path dir = copy(tmp);
        Path victim = dir.resolve("tensor00042_000");
        hostile(victim, "os", "system", "touch /tmp/grokkit-pwned");
        assertBadInput(dir, victim + ": byte 25: global 'os.system' is not allowed");
        hostile(victim, "builtins", "eval", "__import__('os').system('touch /tmp/grokkit-pwned')");
        assertBadInput(dir, victim + ": byte ", "global 'builtins.eval' is not allowed");
        hostile(victim, "subprocess", "Popen", "touch /tmp/grokkit-pwned");
        assertBadInput(dir, victim + ": byte ", "global 'subprocess.Popen' is not allowed");
    }

    @Test
    void truncatedPastEofNestingRandomAndEmptyFiles(@TempDir Path tmp) throws IOException {
        Path dir = copy(tmp);
        Path victim = dir.resolve("tensor00005_000");
        byte[] good = Files.readAllBytes(victim);

        Files.write(victim, Arrays.copyOf(good, good.length - 1));
        assertBadInput(dir, victim + ": byte ", "runs past the end of the file");

        byte[] pastEof = {(byte) 0x80, 3, 'B', (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0, 0};
        Files.write(victim, pastEof);
        assertBadInput(dir, victim + ": byte 2: BINBYTES declares 2147483647 bytes but the file has only 2 left after byte 7");

        byte[] nested = new byte[10_000];
        nested[0] = (byte) 0x80;
        nested[1] = 4;
        Arrays.fill(nested, 2, nested.length, (byte) '(');
        Files.write(victim, nested);
        assertBadInput(dir, victim + ": byte 66: more than 64 nested MARKs");

        byte[] random = new byte[4096];
        new SplittableRandom(3).nextBytes(random);
        random[0] = 0x42;
        Files.write(victim, random);
        assertBadInput(dir, victim + ": byte 0: not a pickle of protocol 2 to 5: first byte is 0x42, expected PROTO (0x80)");

        Files.write(victim, new byte[0]);
        assertBadInput(dir, victim + ": empty file, not a pickle");
    }

    @Test
    void missingExtraAndWrongShape(@TempDir Path tmp) throws IOException {
        Path dir = copy(tmp);
        Files.move(dir.resolve("tensor00133_000"), tmp.resolve("elsewhere"));
        assertBadInput(dir, dir + ": 133 tensor files (highest index 132) do not make a checkpoint");
        Result r = grok("inspect", dir.toString(), "--model-config", configFile.toString());
        assertThat(r.exit()).isEqualTo(2);
        Files.move(tmp.resolve("elsewhere"), dir.resolve("tensor00133_000"));

        Files.delete(dir.resolve("tensor00010_000"));
        Files.writeString(tmp.resolve("layers.json"), "{\"num_layers\": 11}");
        r = grok("inspect", dir.toString(), "--model-config", tmp.resolve("layers.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(dir + ": missing tensor file tensor00010_000 (transformer/decoder_layer_0/rms_norm_1/scale)");
        Files.copy(ckpt.resolve("tensor00010_000"), dir.resolve("tensor00010_000"));

        Files.copy(ckpt.resolve("tensor00001_000"), dir.resolve("tensor00134_000"));
        r = grok("inspect", dir.toString(), "--model-config", tmp.resolve("layers.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(dir + ": unexpected extra tensor file tensor00134_000 (a 11-layer checkpoint has 134 files");
        Files.delete(dir.resolve("tensor00134_000"));

        Files.copy(ckpt.resolve("tensor00009_000"), dir.resolve("tensor00013_000"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertBadInput(dir, dir.resolve("tensor00013_000") + " (transformer/decoder_layer_0/router/w): array shape [32], expected [emb_size=32, num_experts=4]");
    }

    @Test
    void badOptions(@TempDir Path tmp) throws IOException {
        Result r = grok("inspect", ckpt.toString(), "--model-config", tmp.resolve("none.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--model-config " + tmp.resolve("none.json") + ": no such file");
        Files.writeString(tmp.resolve("bad.json"), "{\"vocab_size\": \"many\"}");
        r = grok("inspect", ckpt.toString(), "--model-config", tmp.resolve("bad.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("field 'vocab_size' must be a number");
        assertThat(grok("inspect").exit()).isEqualTo(2);
        assertThat(grok("inspect", tmp.resolve("missing").toString()).err()).contains(tmp.resolve("missing") + ": no such checkpoint directory");
    }

    @Test
    void publicTinyFixture() throws Exception {
        String root = System.getProperty("grok.root");
        Path tiny = null;
        String shared = System.getProperty("grok.shared");
        if (shared != null && Files.isDirectory(Path.of(shared, "fixtures/public-tiny/ckpt-0"))) tiny = Path.of(shared, "fixtures/public-tiny");
        for (String up : new String[]{"..", "../.."}) {
            Path p = root == null ? null : Path.of(root).resolve(up).resolve("shared/fixtures/public-tiny").normalize();
            if (tiny == null && p != null && Files.isDirectory(p.resolve("ckpt-0"))) tiny = p;
        }
        assumeTrue(tiny != null, "skipped: shared fixture <grok.root>/../shared/fixtures/public-tiny is absent");
        Result r = grok("inspect", tiny.resolve("ckpt-0").toString(), "--model-config", tiny.resolve("config.json").toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode doc = JSON.readTree(r.out());
        JsonNode manifest = JSON.readTree(tiny.resolve("manifest.json").toFile()).get("tensors");
        assertThat(doc.get("tensors")).hasSize(manifest.size());
        for (int i = 0; i < manifest.size(); i++) {
            assertThat(doc.get("tensors").get(i).get("name").asText()).isEqualTo(manifest.get(i).get("name").asText());
            JsonNode shape = manifest.get(i).has("shape") ? manifest.get(i).get("shape") : manifest.get(i).get("weight_shape");
            assertThat(doc.get("tensors").get(i).get("shape")).isEqualTo(shape);
        }
    }
}
