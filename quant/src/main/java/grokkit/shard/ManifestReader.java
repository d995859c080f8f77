package grokkit.shard;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.io.InputFiles;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.EncodingSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads {@code manifest.json} and validates all of it once, so that {@code grok check} and the
 * runtime ({@link ShardedModel}) trust the same, fully checked structure. Every rule is listed
 * in docs/FORMAT.md (<i>Validation</i>); each refusal is an {@link InvalidManifestException}
 * naming the file and the JSON path of the value. The shard files themselves (their lengths and
 * bytes) are checked by whoever opens them: {@link ShardedModel} (exact lengths) and
 * {@link ModelChecker} (lengths, CRC32C, padding).
 */
public final class ManifestReader {
    /** A Grok-1 manifest is about 1 MB; anything near this bound is not one. */
    public static final long MAX_BYTES = 64L << 20;

    private static final ObjectMapper STRICT = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
    private static final Pattern CRC = Pattern.compile("[0-9a-f]{8}");

    private final String source;

    private ManifestReader(String source) {
        this.source = source;
    }

    /** Reads and validates {@code dir/manifest.json}. */
    public static Manifest read(Path dir) throws BadInputException {
        Path file = dir.resolve(Manifest.FILE_NAME);
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS))
            throw new BadInputException(dir + ": not a converted model directory (no " + Manifest.FILE_NAME
                    + "; an interrupted conversion leaves none: re-run grok convert with --resume)");
        byte[] bytes = InputFiles.readAll(file, "", MAX_BYTES);
        return parse(bytes, dir);
    }

    /** Validates manifest bytes as if read from {@code dir/manifest.json} (the tokenizer it names is looked up in dir). */
    public static Manifest parse(byte[] bytes, Path dir) throws BadInputException {
        ManifestReader r = new ManifestReader(dir.resolve(Manifest.FILE_NAME).toString());
        Manifest m = r.parse(bytes);
        r.checkTokenizer(m, dir);
        return m;
    }

    private Manifest parse(byte[] bytes) throws InvalidManifestException {
        if (bytes.length > MAX_BYTES) throw bad("", bytes.length + " bytes, more than the " + MAX_BYTES + " a manifest may have");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw bad("", "not valid UTF-8 (" + e.getMessage() + ")");
        }
        JsonNode root;
        try {
            root = STRICT.readTree(text);
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw new InvalidManifestException(source + ": not valid JSON: " + msg, e);
        }
        if (root == null || !root.isObject()) throw bad("", "must be a JSON object");
        String format = string(root, "format", "");
        if (!Manifest.FORMAT.equals(format)) throw bad("format", "is '" + format + "', not '" + Manifest.FORMAT + "' (not a grok-kit manifest)");
        long version = integer(root, "format_version", "", Long.MIN_VALUE, Long.MAX_VALUE);
        if (version != Manifest.FORMAT_VERSION)
            throw bad("format_version", version + " is not supported (this build reads " + Manifest.FORMAT_VERSION + ")");
        long alignment = integer(root, "alignment", "", Long.MIN_VALUE, Long.MAX_VALUE);
        if (alignment != Manifest.ALIGNMENT) throw bad("alignment", "is " + alignment + ", format 1 aligns regions to " + Manifest.ALIGNMENT);
        ObjectNode configNode = object(root, "config", "");
        ModelConfig config = config(configNode);
        JsonNode tok = field(root, "tokenizer", "");
        String tokenizer = null;
        if (!tok.isNull()) {
            if (!tok.isTextual()) throw bad("tokenizer", "must be a file name or null, got " + kind(tok));
            tokenizer = tok.textValue();
            String problem = ModelFiles.nameProblem(tokenizer);
            if (problem != null) throw bad("tokenizer", "'" + tokenizer + "' " + problem);
        }
        ObjectNode conversion = object(root, "conversion", "");
        Map<String, ShardInfo> shards = shards(array(root, "shards", ""));
        List<TensorRecord> tensors = tensors(array(root, "tensors", ""), shards, config);
        return new Manifest(format, (int) version, configNode, tokenizer, conversion, (int) alignment,
                List.copyOf(shards.values()), tensors);
    }

    private void checkTokenizer(Manifest m, Path dir) throws InvalidManifestException {
        if (m.tokenizer() == null) return;
        try {
            ModelFiles.inside(dir, m.tokenizer(), "tokenizer");
        } catch (InvalidManifestException e) {
            throw e;
        } catch (BadInputException e) {
            throw new InvalidManifestException(source + ": tokenizer names " + m.tokenizer() + ", which is not usable: " + e.getMessage(), e);
        }
    }

    // ---- config -------------------------------------------------------------------------

    private ModelConfig config(ObjectNode node) throws InvalidManifestException {
        for (String f : ModelConfig.FIELDS) {
            if (!node.has(f) || node.get(f).isNull()) throw bad("config." + f, "is missing (a manifest's config lists every field)");
        }
        try {
            return ModelConfig.merge(node, ModelConfig.grok1(), source + ": config").config();
        } catch (IOException e) {
            throw new InvalidManifestException(e.getMessage(), e);
        }
    }

    // ---- shards -------------------------------------------------------------------------

    private Map<String, ShardInfo> shards(JsonNode list) throws InvalidManifestException {
        if (list.isEmpty()) throw bad("shards", "is empty");
        Map<String, ShardInfo> out = new LinkedHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "shards[" + i + "]";
            JsonNode s = element(list, i, at);
            String file = string(s, "file", at);
            String problem = ModelFiles.nameProblem(file);
            if (problem != null) throw bad(at + ".file", "'" + file + "' " + problem);
            long bytes = integer(s, "bytes", at, 0, Long.MAX_VALUE);
            if (out.put(file, new ShardInfo(file, bytes)) != null) throw bad(at + ".file", "'" + file + "' is listed twice");
        }
        return out;
    }

    // ---- tensors ------------------------------------------------------------------------

    /** What the configuration implies for one record. */
    private record Expected(String name, Integer expert, long[] shape, int in, int out, boolean vector) {}

    /** Every record a model with this configuration has, keyed by {@code name} or {@code name#expert}. */
    private static Map<String, Expected> expectedRecords(ModelConfig c) {
        int v = c.vocabSize(), d = c.embSize(), e = c.numExperts(), f = c.ffnSize();
        int q = Math.multiplyExact(c.numQHeads(), c.keySize()), kv = Math.multiplyExact(c.numKvHeads(), c.keySize());
        Map<String, Expected> out = new LinkedHashMap<>();
        put(out, ParamNames.EMBEDDINGS, null, new long[]{v, d}, d, v, false);
        put(out, ParamNames.FINAL_NORM, null, new long[]{d}, d, 1, true);
        for (int l = 0; l < c.numLayers(); l++) {
            put(out, ParamNames.layer(l, ParamNames.ATTN_QUERY), null, new long[]{d, q}, d, q, false);
            put(out, ParamNames.layer(l, ParamNames.ATTN_KEY), null, new long[]{d, kv}, d, kv, false);
            put(out, ParamNames.layer(l, ParamNames.ATTN_VALUE), null, new long[]{d, kv}, d, kv, false);
            put(out, ParamNames.layer(l, ParamNames.ATTN_OUT), null, new long[]{q, d}, q, d, false);
            put(out, ParamNames.layer(l, ParamNames.ROUTER), null, new long[]{d, e}, d, e, false);
            for (String norm : List.of(ParamNames.NORM_PRE_ATTN, ParamNames.NORM_POST_ATTN, ParamNames.NORM_PRE_MOE, ParamNames.NORM_POST_MOE))
                put(out, ParamNames.layer(l, norm), null, new long[]{d}, d, 1, true);
            for (int x = 0; x < e; x++) {
                put(out, ParamNames.layer(l, ParamNames.MOE_LINEAR), x, new long[]{d, f}, d, f, false);
                put(out, ParamNames.layer(l, ParamNames.MOE_LINEAR_V), x, new long[]{d, f}, d, f, false);
                put(out, ParamNames.layer(l, ParamNames.MOE_LINEAR_1), x, new long[]{f, d}, f, d, false);
            }
        }
        return out;
    }

    private static void put(Map<String, Expected> m, String name, Integer expert, long[] shape, int in, int out, boolean vector) {
        m.put(key(name, expert), new Expected(name, expert, shape, in, out, vector));
    }

    static String key(String name, Integer expert) {
        return expert == null ? name : name + "#" + expert;
    }

    /** A region and where it came from, for the overlap check. */
    private record Placed(String shard, Region region, String what) {}

    private List<TensorRecord> tensors(JsonNode list, Map<String, ShardInfo> shards, ModelConfig config) throws InvalidManifestException {
        long records = 2 + (long) config.numLayers() * (9 + 3L * config.numExperts());
        // Refuse before building the expected set when the counts are far apart (a config of
        // 4096 layers must not allocate 50 million expectations to say so).
        if (records > 4L * list.size() + 64)
            throw bad("tensors", "has " + list.size() + " records; the config (num_layers " + config.numLayers() + ", num_experts "
                    + config.numExperts() + ") implies " + records);
        Map<String, Expected> expected = expectedRecords(config);
        List<TensorRecord> out = new ArrayList<>(list.size());
        Map<String, String> seen = new HashMap<>();
        List<Placed> placed = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "tensors[" + i + "]";
            JsonNode t = element(list, i, at);
            String name = string(t, "name", at);
            JsonNode ex = t.get("expert");
            Integer expert = ex == null || ex.isNull() ? null : (int) integer(t, "expert", at, 0, Integer.MAX_VALUE);
            String label = expert == null ? name : name + " [expert " + expert + "]";
            String where = at + " (" + label + ")";
            String key = key(name, expert);
            String previous = seen.put(key, at);
            if (previous != null) throw bad(where, "is a second record of the tensor of " + previous + " (exactly one per tensor and expert)");
            Expected exp = expected.get(key);
            if (exp == null) throw bad(where, unexpected(name, expert, config, expected));
            long[] shape = shape(t, where);
            if (!java.util.Arrays.equals(shape, exp.shape))
                throw bad(where + ".shape", java.util.Arrays.toString(shape) + ", the config implies " + java.util.Arrays.toString(exp.shape));
            int in = (int) integer(t, "in", where, 1, Integer.MAX_VALUE), outDim = (int) integer(t, "out", where, 1, Integer.MAX_VALUE);
            if (in != exp.in || outDim != exp.out)
                throw bad(where, "in/out " + in + "/" + outDim + ", the config implies " + exp.in + "/" + exp.out);
            TensorRecord.Encoding encoding = encoding(object(t, "encoding", where), in, where + ".encoding");
            EncodingSpec spec = encoding.spec();
            if (exp.vector && spec.encoding() != grokkit.quant.Encoding.F32)
                throw bad(where + ".encoding", "is " + spec.name() + "; a vector (RMSNorm scale) is stored as f32");
            String shardName = string(t, "shard", where);
            ShardInfo shard = shards.get(shardName);
            if (shard == null) throw bad(where + ".shard", "'" + shardName + "' is not listed in shards");
            Region weights = region(object(t, "weights", where), where + ".weights", shard, spec.weightBytes(in, outDim));
            placed.add(new Placed(shardName, weights, label + " weights"));
            long scaleBytes = spec.scaleBytes(in, outDim);
            JsonNode sc = t.get("scales");
            Region scales = null;
            if (scaleBytes == 0) {
                if (sc != null && !sc.isNull()) throw bad(where + ".scales", "is present, but " + spec.name() + " has no scales");
            } else {
                if (sc == null || sc.isNull()) throw bad(where + ".scales", "is missing; " + spec.name() + " needs " + scaleBytes + " bytes of scales");
                scales = region(object(t, "scales", where), where + ".scales", shard, scaleBytes);
                placed.add(new Placed(shardName, scales, label + " scales"));
            }
            out.add(new TensorRecord(name, expert, shape, in, outDim, encoding, shardName, weights, scales));
        }
        if (seen.size() != expected.size()) {
            List<String> missing = new ArrayList<>();
            for (Expected e : expected.values()) if (!seen.containsKey(key(e.name, e.expert))) missing.add(e.expert == null ? e.name : e.name + " [expert " + e.expert + "]");
            throw bad("tensors", missing.size() + " record(s) the config implies are missing: " + String.join(", ", missing.subList(0, Math.min(4, missing.size())))
                    + (missing.size() > 4 ? ", …" : ""));
        }
        checkOverlaps(placed);
        return List.copyOf(out);
    }

    private static String unexpected(String name, Integer expert, ModelConfig c, Map<String, Expected> expected) {
        int layer = ParamNames.layerOf(name);
        String param = ParamNames.paramOf(name);
        if (layer >= c.numLayers()) return "names layer " + layer + ", but the config has num_layers " + c.numLayers();
        boolean moe = param.equals(ParamNames.MOE_LINEAR) || param.equals(ParamNames.MOE_LINEAR_V) || param.equals(ParamNames.MOE_LINEAR_1);
        if (layer >= 0 && moe && expert == null) return "is an expert weight without an expert index";
        if (layer >= 0 && moe) return "names expert " + expert + ", but the config has num_experts " + c.numExperts() + " (experts 0.." + (c.numExperts() - 1) + ")";
        if (expected.containsKey(name) && expert != null) return "has an expert index, but " + param + " is not an expert weight";
        return "is not a tensor of a Grok-1 model";
    }

    private long[] shape(JsonNode t, String where) throws InvalidManifestException {
        JsonNode s = field(t, "shape", where);
        if (!s.isArray() || s.isEmpty() || s.size() > 4) throw bad(where + ".shape", "must be an array of 1 to 4 dimensions, got " + kind(s));
        long[] out = new long[s.size()];
        for (int k = 0; k < out.length; k++) out[k] = integerValue(s.get(k), where + ".shape[" + k + "]", 1, Integer.MAX_VALUE);
        return out;
    }

    /**
     * The one place a manifest's {@code encoding} object is parsed and checked against the
     * stored matrix: the name, its group size and scale type, and the scale layout that follows.
     */
    private TensorRecord.Encoding encoding(JsonNode e, int in, String at) throws InvalidManifestException {
        String name = string(e, "name", at);
        int group = (int) integer(e, "group_size", at, 0, Integer.MAX_VALUE);
        String scaleType = string(e, "scale_type", at);
        String layout = string(e, "scale_layout", at);
        grokkit.quant.Encoding enc = grokkit.quant.Encoding.lookup(name);
        if (enc == null || !enc.id().equals(name)) throw bad(at + ".name", "'" + name + "' is not an encoding of format 1");
        String want = enc.manifestRule(in, group, scaleType);
        if (want != null) throw bad(at, name + " with group_size " + group + " and scale_type " + scaleType + ": " + name + " " + want);
        String wantLayout = group == 0 ? TensorRecord.Encoding.NONE : TensorRecord.Encoding.OUT_MAJOR_GROUPS;
        if (!layout.equals(wantLayout)) throw bad(at + ".scale_layout", "is '" + layout + "', " + name + " has '" + wantLayout + "'");
        return new TensorRecord.Encoding(name, group, scaleType, layout);
    }

    private Region region(JsonNode r, String at, ShardInfo shard, long needed) throws InvalidManifestException {
        long offset = integer(r, "offset", at, 0, Long.MAX_VALUE);
        long length = integer(r, "length", at, 0, Long.MAX_VALUE);
        String crc = string(r, "crc32c", at);
        if (!CRC.matcher(crc).matches()) throw bad(at + ".crc32c", "'" + crc + "' is not 8 lowercase hex digits");
        if (offset % Manifest.ALIGNMENT != 0) throw bad(at + ".offset", offset + " is not a multiple of " + Manifest.ALIGNMENT);
        if (length != needed) throw bad(at + ".length", length + " bytes, the encoding and shape need exactly " + needed);
        if (offset > shard.bytes() || length > shard.bytes() - offset)
            throw bad(at, "[" + offset + ", +" + length + ") lies outside its shard " + shard.file() + " (" + shard.bytes() + " bytes)");
        return new Region(offset, length, crc);
    }

    private void checkOverlaps(List<Placed> placed) throws InvalidManifestException {
        List<Placed> sorted = new ArrayList<>(placed);
        sorted.sort(Comparator.comparing(Placed::shard).thenComparingLong(p -> p.region.offset()));
        for (int i = 1; i < sorted.size(); i++) {
            Placed a = sorted.get(i - 1), b = sorted.get(i);
            if (a.shard.equals(b.shard) && b.region.offset() < a.region.end())
                throw bad("tensors", b.what + " [" + b.region.offset() + ", " + b.region.end() + ") overlaps " + a.what
                        + " [" + a.region.offset() + ", " + a.region.end() + ") in " + a.shard);
        }
    }

    // ---- typed access -------------------------------------------------------------------

    private InvalidManifestException bad(String path, String problem) {
        return new InvalidManifestException(source + (path.isEmpty() ? "" : ": " + path) + ": " + problem);
    }

    private static String join(String at, String name) {
        return at.isEmpty() ? name : at + "." + name;
    }

    private JsonNode field(JsonNode obj, String name, String at) throws InvalidManifestException {
        JsonNode v = obj.get(name);
        if (v == null) throw bad(join(at, name), "is missing");
        return v;
    }

    private JsonNode element(JsonNode list, int i, String at) throws InvalidManifestException {
        JsonNode v = list.get(i);
        if (v == null || !v.isObject()) throw bad(at, "must be an object, got " + kind(v));
        return v;
    }

    private ObjectNode object(JsonNode obj, String name, String at) throws InvalidManifestException {
        JsonNode v = field(obj, name, at);
        if (!v.isObject()) throw bad(join(at, name), "must be an object, got " + kind(v));
        return (ObjectNode) v;
    }

    private JsonNode array(JsonNode obj, String name, String at) throws InvalidManifestException {
        JsonNode v = field(obj, name, at);
        if (!v.isArray()) throw bad(join(at, name), "must be an array, got " + kind(v));
        return v;
    }

    private String string(JsonNode obj, String name, String at) throws InvalidManifestException {
        JsonNode v = field(obj, name, at);
        if (!v.isTextual()) throw bad(join(at, name), "must be a string, got " + kind(v));
        return v.textValue();
    }

    private long integer(JsonNode obj, String name, String at, long min, long max) throws InvalidManifestException {
        return integerValue(field(obj, name, at), join(at, name), min, max);
    }

    /** An integer in [min, max]: a JSON integer (not 12.5, not 1e3, not a string) that fits a long. */
    private long integerValue(JsonNode v, String path, long min, long max) throws InvalidManifestException {
        if (v == null || !v.isIntegralNumber()) throw bad(path, "must be an integer, got " + kind(v));
        if (!v.canConvertToLong()) throw bad(path, v.asText() + " is out of range");
        long x = v.longValue();
        if (x < min || x > max) throw bad(path, x + " is out of range [" + min + ", " + max + "]");
        return x;
    }

    private static String kind(JsonNode v) {
        if (v == null) return "nothing";
        if (v.isContainerNode()) return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " of " + v.size() + " element(s)";
        String text = v.toString();
        if (text.length() > 40) text = text.substring(0, 40) + "…";
        return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + text;
    }
}
