package grokkit.shard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.checkpoint.SyntheticCheckpoint;
import grokkit.convert.CheckpointSource;
import grokkit.convert.ConvertHooks;
import grokkit.convert.ConvertOptions;
import grokkit.convert.Converter;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Structured mutation fuzzing of {@code manifest.json} (issue 14), like the pickle fuzzer: valid
 * manifests of two small converted models (int8 with both scale layouts and f32; q4nl experts
 * and attention with bf16 embeddings) are mutated — fields and elements dropped, duplicated
 * (keys too), retyped, numbers perturbed to boundaries, values swapped, the text truncated or
 * its bytes made invalid UTF-8 — and read by {@link ManifestReader}. Every case must end in
 * the reader's own {@link InvalidManifestException}, or be accepted and then run: opened by
 * {@link ShardedModel} (which may still refuse a shard whose real length differs, with a
 * {@link BadInputException}) and a forward pass whose logits are the original's (to the last
 * bits the runtime's float reduction order varies in) when the accepted manifest describes the same model, and completing when a
 * configuration number was changed to another valid value. Any other exception is a bug. The
 * seed is printed; replay with -Dgrok.fuzz.seed=N.
 */
class ManifestFuzzTest {
    private static final int CASES = Integer.getInteger("grok.fuzz.manifests", 50_000);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int[] TOKENS = {3, 1, 4, 1, 5};

    record Seed(Path dir, String text, ObjectNode tree, Manifest manifest, float[][] logits) {}

    static ModelConfig tinyConfig() {
        // 1 layer, 2 experts, emb 16: 17 records, a manifest of a few KB.
        return new ModelConfig(32, 16, 8, 2, 1, 1, 2, 1, 8.0, 24,
                2.0, 0.5, 0.35, 30.0, 1e-5, 10000.0, 0, 2, 64);
    }

    static Seed seed(Path dir, ConvertOptions opts) throws Exception {
        Path ckpt = dir.resolve("ckpt-0");
        ModelConfig c = tinyConfig();
        SyntheticCheckpoint.write(ckpt, c, SyntheticCheckpoint.Style.RELEASE, 7);
        Path configFile = dir.resolve("config.json");
        Files.writeString(configFile, c.toJson().toString());
        Path model = dir.resolve("model");
        try (CheckpointSource src = CheckpointSource.open(ckpt, ModelConfig.read(configFile, ModelConfig.grok1()))) {
            new Converter(opts, new PrintWriter(new StringWriter()), false, ConvertHooks.NONE).convert(src, model);
        }
        String text = Files.readString(model.resolve(Manifest.FILE_NAME));
        Manifest m = ManifestReader.read(model);
        return new Seed(model, text, (ObjectNode) JSON.readTree(text), m, logits(model, m));
    }

    static float[][] logits(Path dir, Manifest m) throws IOException {
        try (ShardedModel w = ShardedModel.open(dir, m); GrokModel g = new GrokModel(w, new RuntimeOptions(1, 0, 128))) {
            return g.forward(TOKENS);
        }
    }

    @Test
    void mutatedManifestsAreRefusedByTheReaderOrRunUnchanged(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("grok.fuzz.seed", System.nanoTime());
        System.out.println("ManifestFuzzTest seed " + seed + " (replay: -Dgrok.fuzz.seed=" + seed + ")");
        List<Seed> seeds = List.of(
                seed(tmp.resolve("int8"), ConvertOptions.defaults().withThreads(1)),
                seed(tmp.resolve("q4nl"), ConvertOptions.defaults().withThreads(1).withExperts("int4").withAttention("int4").withEmbeddings("bf16")));
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Integer> outcomes = new HashMap<>();
        Set<String> ranAlready = new HashSet<>();
        long start = System.nanoTime(), runNanos = 0, mutateNanos = 0;
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpuStart = cpu.getCurrentThreadCpuTime();
        for (int i = 0; i < CASES; i++) {
            Seed s = seeds.get(r.nextInt(seeds.size()));
            long t0 = System.nanoTime();
            byte[] bytes = mutate(s, r);
            mutateNanos += System.nanoTime() - t0;
            String outcome;
            try {
                Manifest m = ManifestReader.parse(bytes, s.dir);
                long t1 = System.nanoTime();
                outcome = accepted(s, m, ranAlready);
                runNanos += System.nanoTime() - t1;
            } catch (InvalidManifestException e) {
                assertThat(e.getMessage()).startsWith(s.dir.resolve(Manifest.FILE_NAME).toString());
                outcome = "refused";
            } catch (Throwable t) {
                fail("case " + i + " (seed " + seed + "): " + t + "\n--- manifest ---\n" + new String(bytes, StandardCharsets.UTF_8), t);
                return;
            }
            outcomes.merge(outcome, 1, Integer::sum);
        }
        double secs = (System.nanoTime() - start) / 1e9;
        // CPU time too: on a shared machine the wall time says more about the load than the test.
        System.out.printf("ManifestFuzzTest: %d cases in %.1f s wall, %.1f s CPU (mutating %.1f s, running accepted models %.1f s): %s%n",
                CASES, secs, (cpu.getCurrentThreadCpuTime() - cpuStart) / 1e9, mutateNanos / 1e9, runNanos / 1e9, outcomes);
        assertThat(outcomes.getOrDefault("refused", 0)).as("most mutations break a rule").isGreaterThan(CASES / 2);
        assertThat(outcomes.getOrDefault("same model", 0)).as("some mutations are harmless (CRC digits, unknown fields, order)").isPositive();
    }

    /** An accepted manifest: open it and run it; the logits must be the original's when the model is the same. */
    private static String accepted(Seed s, Manifest m, Set<String> ranAlready) throws IOException {
        boolean sameModel = m.modelConfig().equals(s.manifest.modelConfig())
                && new HashSet<>(m.tensors()).equals(new HashSet<>(s.manifest.tensors()))
                && new HashSet<>(m.shards()).equals(new HashSet<>(s.manifest.shards()));
        // Running every accepted case would dominate the run; each distinct accepted model runs once.
        String key = s.dir + "\n" + m.modelConfig() + "\n" + new HashSet<>(m.tensors()) + "\n" + new HashSet<>(m.shards());
        if (!ranAlready.add(key)) return sameModel ? "same model" : "other config";
        float[][] got;
        try {
            got = logits(s.dir, m);
        } catch (BadInputException e) {
            // The runtime's own checks, e.g. a shard's real length, or the bytes of a q4nl base
            // scale when two records' regions were swapped (only CRCs could tell; check has them).
            assertThat(sameModel).as("an equivalent manifest must run: " + e.getMessage()).isFalse();
            assertThat(e.getMessage()).isNotBlank();
            return "runtime refused";
        }
        if (sameModel) {
            // Same weights, same bytes: equal up to the runtime's run-to-run float reduction order
            // (JIT-dependent, last bits only; docs/FORMAT.md). A wrong tensor moves logits by ≫ 1e-4.
            for (int t = 0; t < got.length; t++)
                for (int v = 0; v < got[t].length; v++)
                    assertThat(got[t][v]).as("logit %d at position %d of an accepted, equivalent manifest", v, t)
                            .isCloseTo(s.logits[t][v], org.assertj.core.data.Offset.offset(1e-5f * Math.max(1f, Math.abs(s.logits[t][v]))));
            return "same model";
        }
        // Another valid configuration (a multiplier of 1e30 may well overflow the float32
        // arithmetic: that is the configuration's meaning, not a reader bug); it must run.
        assertThat(got).hasNumberOfRows(TOKENS.length);
        return "other config";
    }

    // ---- mutations ----------------------------------------------------------------------

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    static byte[] mutate(Seed s, SplittableRandom r) {
        int kind = r.nextInt(20);
        if (kind == 0) { // truncate the text
            byte[] b = s.text.getBytes(StandardCharsets.UTF_8);
            return Arrays.copyOf(b, r.nextInt(b.length));
        }
        if (kind == 1) { // a byte that is not UTF-8, or any byte
            byte[] b = s.text.getBytes(StandardCharsets.UTF_8);
            b[r.nextInt(b.length)] = (byte) (r.nextBoolean() ? 0xff : r.nextInt(256));
            return b;
        }
        if (kind == 2) return duplicateKey(s.text, r).getBytes(StandardCharsets.UTF_8);
        ObjectNode root = s.tree.deepCopy();
        int rounds = 1 + r.nextInt(3);
        for (int k = 0; k < rounds; k++) mutateTree(root, r);
        String text = r.nextInt(8) == 0 ? root.toPrettyString() : root.toString();
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A slot holding a value: an object field or an array element. */
    record Slot(JsonNode parent, String field, int index) {
        JsonNode get() {
            return field != null ? parent.get(field) : parent.get(index);
        }

        void set(JsonNode v) {
            if (field != null) ((ObjectNode) parent).set(field, v);
            else ((ArrayNode) parent).set(index, v);
        }

        void remove() {
            if (field != null) ((ObjectNode) parent).remove(field);
            else ((ArrayNode) parent).remove(index);
        }
    }

    static void slots(JsonNode node, List<Slot> out) {
        if (node.isObject()) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                out.add(new Slot(node, f, -1));
                slots(node.get(f), out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                out.add(new Slot(node, null, i));
                slots(node.get(i), out);
            }
        }
    }

    static void mutateTree(ObjectNode root, SplittableRandom r) {
        List<Slot> all = new ArrayList<>();
        slots(root, all);
        if (all.isEmpty()) return;
        Slot s = all.get(r.nextInt(all.size()));
        JsonNode v = s.get();
        switch (r.nextInt(7)) {
            case 0 -> s.remove();
            case 1 -> { // duplicate an array element, or copy a value into a new unknown field
                if (s.field == null) ((ArrayNode) s.parent).insert(s.index, v.deepCopy());
                else ((ObjectNode) s.parent).set(s.field + (r.nextBoolean() ? "_x" : ""), v.deepCopy());
            }
            case 2 -> s.set(retype(r));
            case 3, 4 -> {
                if (v.isNumber()) s.set(perturb(v, r));
                else if (v.isTextual()) s.set(F.textNode(perturb(v.textValue(), r)));
                else s.set(retype(r));
            }
            case 5 -> { // swap with another slot's value
                Slot o = all.get(r.nextInt(all.size()));
                JsonNode ov = o.get();
                if (ov == null || v == null || isAncestor(v, ov) || isAncestor(ov, v)) return;
                JsonNode a = v.deepCopy(), b = ov.deepCopy();
                s.set(b);
                o.set(a);
            }
            default -> { // swap two siblings of an array (order must not matter for records)
                if (s.field == null && s.parent.size() > 1) {
                    ArrayNode arr = (ArrayNode) s.parent;
                    int j = r.nextInt(arr.size());
                    JsonNode a = arr.get(s.index).deepCopy(), b = arr.get(j).deepCopy();
                    arr.set(s.index, b);
                    arr.set(j, a);
                } else if (v.isNumber()) {
                    s.set(perturb(v, r));
                }
            }
        }
    }

    private static boolean isAncestor(JsonNode a, JsonNode b) {
        if (a == b) return true;
        for (JsonNode c : a) if (isAncestor(c, b)) return true;
        return false;
    }

    static JsonNode retype(SplittableRandom r) {
        return switch (r.nextInt(9)) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(r.nextBoolean());
            case 2 -> F.textNode(r.nextBoolean() ? "" : "64");
            case 3 -> F.numberNode(r.nextInt(-2, 70));
            case 4 -> F.numberNode(1.5);
            case 5 -> F.arrayNode();
            case 6 -> F.objectNode();
            case 7 -> F.numberNode(new java.math.BigInteger("99999999999999999999"));
            default -> F.arrayNode().add(F.nullNode());
        };
    }

    static JsonNode perturb(JsonNode v, SplittableRandom r) {
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            long x = v.longValue();
            long[] candidates = {x + 1, x - 1, x * 2, -x, 0, x + 64, x - 64, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE,
                    (long) Integer.MAX_VALUE + 1, x / 2, 1L << 53, x + 8};
            if (r.nextInt(6) == 0) return F.numberNode(x + 0.5);
            return F.numberNode(candidates[r.nextInt(candidates.length)]);
        }
        double d = v.doubleValue();
        double[] candidates = {d * 2, -d, 0.0, d + 1e-9, Double.MAX_VALUE, Double.MIN_VALUE, d / 3, 1e300, -1.0, Math.nextUp(d)};
        if (r.nextInt(8) == 0) return F.numberNode(new java.math.BigDecimal("1e309"));
        return F.numberNode(candidates[r.nextInt(candidates.length)]);
    }

    static String perturb(String s, SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> "";
            case 1 -> "../" + s;
            case 2 -> "/" + s;
            case 3 -> s + "x";
            case 4 -> s.isEmpty() ? "a" : s.substring(0, s.length() - 1);
            case 5 -> s.toUpperCase(java.util.Locale.ROOT);
            case 6 -> s.isEmpty() ? "0" : s.substring(0, s.length() - 1) + (char) ('0' + r.nextInt(10)); // e.g. another CRC digit
            default -> s.replace('/', '\\');
        };
    }

    /** Inserts a second copy of a random {@code "key": value} pair at the text level (a tree cannot hold one). */
    static String duplicateKey(String text, SplittableRandom r) {
        List<Integer> starts = new ArrayList<>();
        for (int i = text.indexOf("\"config\""); i >= 0 && i < text.length(); i = text.indexOf("\n", i + 1)) {
            if (i < 0) break;
            starts.add(i);
            if (starts.size() > 2000) break;
        }
        String[] keys = {"num_layers", "rms_norm_eps", "vocab_size", "expert", "offset", "length", "name", "shard", "tokenizer"};
        String key = keys[r.nextInt(keys.length)];
        int at = text.indexOf("\"" + key + "\"");
        if (at < 0) return text;
        int end = text.indexOf(',', at);
        if (end < 0) return text;
        String pair = text.substring(at, end + 1);
        return text.substring(0, at) + pair + " " + text.substring(at);
    }
}
