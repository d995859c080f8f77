package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: every manifest that used to end in a stack trace, in "intact", or in a wrong model
 * running is refused by both {@code grok check} and {@code grok logits} with exit 2, the
 * manifest named, the offending value located, and no stack trace.
 */
class ManifestFaultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static Path model;
    static String manifestText;

    @BeforeAll
    static void convertOnce() throws IOException {
        model = LogitsCommandTest.convert(LogitsCommandTest.fixture("tiny-np2-p5"), shared.resolve("model"));
        manifestText = Files.readString(model.resolve("manifest.json"));
    }

    /** A copy of the converted model (hard links to the shard: nothing is written to it) with a replaced manifest. */
    static Path withManifest(Path tmp, String text) throws IOException {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(model)) {
            for (Path f : s.toList()) {
                if (f.getFileName().toString().endsWith(".bin")) Files.createLink(dir.resolve(f.getFileName()), f);
            }
        }
        Files.writeString(dir.resolve("manifest.json"), text, StandardCharsets.UTF_8);
        return dir;
    }

    static String edit(Function<ObjectNode, Object> change) {
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(manifestText);
            change.apply(root);
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static ObjectNode tensor(ObjectNode root, int i) {
        return (ObjectNode) root.get("tensors").get(i);
    }

    /** The index of the record named (suffix match) with this expert, or -1. */
    static int find(ObjectNode root, String suffix, Integer expert) {
        ArrayNode t = (ArrayNode) root.get("tensors");
        for (int i = 0; i < t.size(); i++) {
            JsonNode e = t.get(i).get("expert");
            if (t.get(i).get("name").asText().endsWith(suffix) && (expert == null ? e == null : e != null && e.asInt() == expert)) return i;
        }
        return -1;
    }

    static Stream<Arguments> refusedManifests() {
        return Stream.of(
                Arguments.of("length 2^63-1", edit(r -> ((ObjectNode) tensor(r, 0).get("weights")).put("length", Long.MAX_VALUE)),
                        "tensors[0] (language_model/in_out_embed/embeddings).weights.length: 9223372036854775807 bytes, the encoding and shape need exactly 65536"),
                Arguments.of("offset -64", edit(r -> ((ObjectNode) tensor(r, 3).get("weights")).put("offset", -64)),
                        "weights.offset: -64 is out of range"),
                Arguments.of("null in tensors", edit(r -> ((ArrayNode) r.get("tensors")).insertNull(5)), "tensors[5]: must be an object, got null"),
                Arguments.of("null in shards", edit(r -> ((ArrayNode) r.get("shards")).addNull()), "shards[1]: must be an object, got null"),
                Arguments.of("unknown encoding", edit(r -> ((ObjectNode) tensor(r, 1).get("encoding")).put("name", "q5")),
                        "tensors[1] (language_model/rms_norm/scale).encoding.name: 'q5' is not an encoding of format 1"),
                Arguments.of("empty encoding", edit(r -> tensor(r, 2).putObject("encoding")), ".encoding.name: is missing"),
                Arguments.of("missing record", edit(r -> ((ArrayNode) r.get("tensors")).remove(find(r, "decoder_layer_1/moe/linear_v/w", 4))),
                        "1 record(s) the config implies are missing: transformer/decoder_layer_1/moe/linear_v/w [expert 4]"),
                Arguments.of("extra layer", edit(r -> {
                            ObjectNode copy = tensor(r, find(r, "decoder_layer_2/rms_norm/scale", null)).deepCopy();
                            copy.put("name", "transformer/decoder_layer_3/rms_norm/scale");
                            return ((ArrayNode) r.get("tensors")).add(copy);
                        }), "names layer 3, but the config has num_layers 3"),
                Arguments.of("config says one more layer", edit(r -> ((ObjectNode) r.get("config")).put("num_layers", 4)),
                        "record(s) the config implies are missing: transformer/decoder_layer_3/"),
                Arguments.of("expert 8 of 8", edit(r -> tensor(r, find(r, "decoder_layer_0/moe/linear/w", 7)).put("expert", 8)),
                        "names expert 8, but the config has num_experts 8"),
                Arguments.of("missing tokenizer", edit(r -> r.put("tokenizer", "tokenizer.model")),
                        "tokenizer names tokenizer.model, which is not usable"),
                Arguments.of("duplicated record", edit(r -> {
                            ObjectNode copy = tensor(r, 3).deepCopy();
                            ((ObjectNode) copy.get("weights")).put("offset", 0);
                            return ((ArrayNode) r.get("tensors")).add(copy);
                        }), "is a second record of the tensor of tensors[3]"),
                Arguments.of("two config keys", manifestText.replaceFirst("\"config\" : \\{", "\"config\" : { \"num_layers\" : 2,"),
                        "not valid JSON: Duplicate field 'num_layers'"),
                Arguments.of("overlapping tensors", edit(r -> {
                            ObjectNode w = (ObjectNode) tensor(r, 1).get("weights");
                            return w.put("offset", tensor(r, 0).get("weights").get("offset").asLong());
                        }), "overlaps"),
                Arguments.of("region longer than its encoding needs", edit(r -> ((ObjectNode) tensor(r, 1).get("weights")).put("length", 512)),
                        "weights.length: 512 bytes, the encoding and shape need exactly 256"),
                Arguments.of("shard outside the directory", edit(r -> {
                            ((ObjectNode) r.get("shards").get(0)).put("file", "../outside/shard-00001-of-00001.bin");
                            for (JsonNode t : r.get("tensors")) ((ObjectNode) t).put("shard", "../outside/shard-00001-of-00001.bin");
                            return r;
                        }), "shards[0].file: '../outside/shard-00001-of-00001.bin' contains a path separator"),
                Arguments.of("rms_norm_eps -1", edit(r -> ((ObjectNode) r.get("config")).put("rms_norm_eps", -1.0)),
                        "rms_norm_eps must be finite and > 0 (as float32), got -1.0"),
                Arguments.of("embedding_multiplier_scale 1e309", manifestText.replace("\"embedding_multiplier_scale\" : 78.38367176906169",
                        "\"embedding_multiplier_scale\" : 1e309"), "field 'embedding_multiplier_scale' must be a finite number"),
                Arguments.of("num_layers 12.5", manifestText.replace("\"num_layers\" : 3", "\"num_layers\" : 2.5"),
                        "field 'num_layers' must be an integer, got 2.5"),
                Arguments.of("a cap of 0", edit(r -> ((ObjectNode) r.get("config")).put("attn_logit_cap", 0.0)),
                        "attn_logit_cap must be finite and > 0"),
                Arguments.of("negative sequence_len", edit(r -> ((ObjectNode) r.get("config")).put("sequence_len", -1)),
                        "sequence_len must be >= 0 (0 = no limit)"),
                Arguments.of("not UTF-8", manifestText.replace("\"tokenizer\" : null", "\"tokenizer\" : \"\u00ff\u00fe\"")
                        .replace("\u00ff\u00fe", "XX"), "tokenizer names XX"),
                Arguments.of("a string for a number", edit(r -> ((ObjectNode) tensor(r, 0)).put("in", "64")), "tensors[0] (language_model/in_out_embed/embeddings).in: must be an integer, got string"),
                Arguments.of("truncated", manifestText.substring(0, manifestText.length() / 2), "not valid JSON"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedManifests")
    void checkAndLogitsRefuseTheManifest(String what, String text, String expected, @TempDir Path tmp) throws IOException {
        Path dir = withManifest(tmp, text);
        Path manifest = dir.resolve("manifest.json");
        FaultsTest.Run check = FaultsTest.run("check", dir.toString());
        assertThat(check.code()).as(what + ": " + check.err()).isEqualTo(2);
        assertThat(check.err()).as(what).contains(manifest.toString()).contains(expected);
        check.assertNoStackTrace();
        assertThat(check.out()).doesNotContain("OK");
        Path out = tmp.resolve("l.npy");
        FaultsTest.Run logits = FaultsTest.run("logits", dir.toString(), "--tokens", "5,17", "--out", out.toString());
        assertThat(logits.code()).as(what + ": " + logits.err()).isEqualTo(2);
        assertThat(logits.err()).as(what).contains(manifest.toString()).contains(expected);
        logits.assertNoStackTrace();
        assertThat(out).doesNotExist();
    }

    @Test
    void invalidUtf8IsRefused(@TempDir Path tmp) throws IOException {
        Path dir = withManifest(tmp, "");
        byte[] bytes = manifestText.getBytes(StandardCharsets.UTF_8);
        int at = manifestText.indexOf("grok-kit sharded model");
        bytes[at] = (byte) 0xff;
        Files.write(dir.resolve("manifest.json"), bytes);
        FaultsTest.Run r = FaultsTest.run("check", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(dir.resolve("manifest.json").toString()).contains("not valid UTF-8");
        r.assertNoStackTrace();
    }

    @Test
    void aShardThatIsASymlinkOutOfTheDirectoryIsRefused(@TempDir Path tmp) throws IOException {
        Path dir = withManifest(tmp, manifestText);
        Path outside = tmp.resolve("outside");
        Files.createDirectories(outside);
        Path shard = dir.resolve("shard-00001-of-00001.bin");
        Files.move(shard, outside.resolve("s.bin"));
        Files.createSymbolicLink(shard, outside.resolve("s.bin"));
        for (String cmd : new String[]{"check", "logits"}) {
            FaultsTest.Run r = cmd.equals("check") ? FaultsTest.run("check", dir.toString())
                    : FaultsTest.run("logits", dir.toString(), "--tokens", "5", "--out", tmp.resolve("l.npy").toString());
            assertThat(r.code()).as(cmd + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains(shard.toString()).contains("outside the model directory");
            r.assertNoStackTrace();
        }
    }

    @Test
    void theUnchangedManifestStillChecksAndRuns(@TempDir Path tmp) throws IOException {
        Path dir = withManifest(tmp, manifestText);
        FaultsTest.Run r = FaultsTest.run("check", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        // a symlink to a shard inside the directory is fine
        Path shard = dir.resolve("shard-00001-of-00001.bin");
        Files.move(shard, dir.resolve("real.bin"));
        Files.createSymbolicLink(shard, Path.of("real.bin"));
        r = FaultsTest.run("logits", dir.toString(), "--tokens", "5", "--out", tmp.resolve("l.npy").toString());
        assertThat(r.code()).as(r.err()).isZero();
    }

}
