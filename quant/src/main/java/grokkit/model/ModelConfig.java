package grokkit.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Grok-1 hyper-parameters, with the field names of the reference ({@code run.py},
 * {@code model.py}). Shared by the converter (to validate a checkpoint), the shard manifest
 * and the runtime.
 *
 * <p>{@code ffn_size} is derived from {@code emb_size} and {@code widening_factor} exactly as
 * the reference does, unless a configuration file gives it explicitly.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelConfig(
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("emb_size") int embSize,
        @JsonProperty("key_size") int keySize,
        @JsonProperty("num_q_heads") int numQHeads,
        @JsonProperty("num_kv_heads") int numKvHeads,
        @JsonProperty("num_layers") int numLayers,
        @JsonProperty("num_experts") int numExperts,
        @JsonProperty("num_selected_experts") int numSelectedExperts,
        @JsonProperty("widening_factor") double wideningFactor,
        @JsonProperty("ffn_size") int ffnSize,
        @JsonProperty("embedding_multiplier_scale") double embeddingMultiplierScale,
        @JsonProperty("output_multiplier_scale") double outputMultiplierScale,
        @JsonProperty("attn_output_multiplier") double attnOutputMultiplier,
        @JsonProperty("attn_logit_cap") double attnLogitCap,
        @JsonProperty("rms_norm_eps") double rmsNormEps,
        @JsonProperty("rope_base") double ropeBase,
        @JsonProperty("pad_token") int padToken,
        @JsonProperty("eos_token") int eosToken,
        @JsonProperty("sequence_len") int sequenceLen) {

    /** The JSON field names, in the order they are written. */
    public static final List<String> FIELDS = List.of(
            "vocab_size", "emb_size", "key_size", "num_q_heads", "num_kv_heads", "num_layers",
            "num_experts", "num_selected_experts", "widening_factor", "ffn_size",
            "embedding_multiplier_scale", "output_multiplier_scale", "attn_output_multiplier",
            "attn_logit_cap", "rms_norm_eps", "rope_base", "pad_token", "eos_token", "sequence_len");

    /** The fields that hold real numbers; every other field is an integer. */
    public static final Set<String> REAL_FIELDS = Set.of(
            "widening_factor", "embedding_multiplier_scale", "output_multiplier_scale", "attn_output_multiplier",
            "attn_logit_cap", "rms_norm_eps", "rope_base");

    /**
     * Upper bounds of the dimensions (Grok-1 is far below each): they keep every product of
     * dimensions inside an int and stop a hostile configuration from sizing an allocation.
     */
    public static final int MAX_VOCAB = 1 << 30, MAX_EMB = 1 << 20, MAX_KEY_SIZE = 1 << 16, MAX_HEADS = 1 << 12,
            MAX_LAYERS = 1 << 12, MAX_EXPERTS = 1 << 12, MAX_FFN = 1 << 24;

    /**
     * Created on first use, for parsing only: the record is converted to and from a tree by hand
     * below, because building Jackson's bean (de)serializers for it is a large part of the start-up
     * of every command that reads a configuration (docs/benchmarks/startup.md).
     */
    private static final class Parser {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    /** Grok-1 as released (run.py). */
    public static ModelConfig grok1() {
        return new ModelConfig(131072, 6144, 128, 48, 8, 64, 8, 2, 8.0,
                referenceFfnSize(6144, 8.0),
                78.38367176906169, 0.5773502691896257, 0.08838834764831845, 30.0,
                1e-5, 10000.0, 0, 2, 8192);
    }

    /**
     * The reference's {@code ffn_size(emb_size, widening_factor)}: {@code int(wf * emb) * 2 // 3},
     * rounded up to a multiple of 8.
     */
    public static int referenceFfnSize(int embSize, double wideningFactor) {
        int size = ((int) (wideningFactor * embSize)) * 2 / 3;
        return size + Math.floorMod(8 - size, 8);
    }

    /** Query heads that share one key/value head (grouped-query attention). */
    public int queryGroupSize() {
        return numQHeads / numKvHeads;
    }

    /** The result of reading a configuration file: the values, and which fields the file set. */
    public record Parsed(ModelConfig config, Set<String> givenFields) {
        /** Fields the file did not set, which took their value from the defaults. */
        public List<String> defaultedFields() {
            List<String> out = new ArrayList<>();
            for (String f : FIELDS) if (!givenFields.contains(f)) out.add(f);
            return out;
        }
    }

    /**
     * Reads a JSON configuration; absent fields take {@code defaults}' values, except
     * {@code ffn_size}, which is derived from the (possibly new) emb_size and widening_factor
     * when the file does not give it. Unknown fields (e.g. a fixture's {@code seed}) are ignored.
     */
    public static Parsed read(Path file, ModelConfig defaults) throws IOException {
        JsonNode node;
        try {
            // A regular file only (a FIFO blocks, /dev/zero never ends), at most 16 MiB.
            node = Parser.MAPPER.readTree(grokkit.io.InputFiles.readAll(file, "", 16L << 20));
        } catch (IOException e) {
            throw new IOException(file + ": not a readable JSON model configuration: " + e.getMessage(), e);
        }
        if (node == null || !node.isObject()) throw new IOException(file + ": model configuration must be a JSON object");
        return merge((ObjectNode) node, defaults, file.toString());
    }

    /** As {@link #read}, over an already-parsed JSON object. */
    public static Parsed merge(ObjectNode given, ModelConfig defaults, String source) throws IOException {
        Set<String> present = new LinkedHashSet<>();
        for (Iterator<String> it = given.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (FIELDS.contains(f) && !given.get(f).isNull()) present.add(f);
        }
        ObjectNode merged = defaults.toJson();
        for (String f : present) {
            JsonNode v = given.get(f);
            if (!v.isNumber()) throw new IOException(source + ": field '" + f + "' must be a number, got " + v);
            if (REAL_FIELDS.contains(f)) {
                if (!Double.isFinite(v.doubleValue()))
                    throw new IOException(source + ": field '" + f + "' must be a finite number, got " + v + " (out of double range)");
            } else {
                // 12.5 layers is no model; 12.0 is 12. Never truncate silently.
                double d = v.doubleValue();
                if (!v.isIntegralNumber() && (d != Math.rint(d) || Double.isInfinite(d)))
                    throw new IOException(source + ": field '" + f + "' must be an integer, got " + v);
                if (v.isIntegralNumber() ? !v.canConvertToInt() : (d < Integer.MIN_VALUE || d > Integer.MAX_VALUE))
                    throw new IOException(source + ": field '" + f + "' is out of range, got " + v);
                v = JsonNodeFactory.instance.numberNode(v.isIntegralNumber() ? v.intValue() : (int) d);
            }
            merged.set(f, v);
        }
        if (!present.contains("ffn_size")) {
            merged.put("ffn_size", referenceFfnSize(merged.get("emb_size").asInt(), merged.get("widening_factor").asDouble()));
        }
        ModelConfig c = fromJson(merged);
        c.validate(source);
        return new Parsed(c, present);
    }

    /** Checks the internal consistency of the numbers; throws naming {@code source}. */
    public void validate(String source) throws IOException {
        List<String> bad = new ArrayList<>();
        if (vocabSize <= 0 || vocabSize > MAX_VOCAB) bad.add("vocab_size must be in 1.." + MAX_VOCAB + ", got " + vocabSize);
        if (embSize <= 0 || embSize > MAX_EMB) bad.add("emb_size must be in 1.." + MAX_EMB + ", got " + embSize);
        if (keySize <= 0 || keySize % 2 != 0 || keySize > MAX_KEY_SIZE)
            bad.add("key_size must be a positive even number (RoPE rotates halves) up to " + MAX_KEY_SIZE + ", got " + keySize);
        if (numQHeads <= 0 || numKvHeads <= 0 || numQHeads > MAX_HEADS || numQHeads % Math.max(1, numKvHeads) != 0)
            bad.add("num_q_heads must be a positive multiple of num_kv_heads, at most " + MAX_HEADS);
        if (numLayers <= 0 || numLayers > MAX_LAYERS) bad.add("num_layers must be in 1.." + MAX_LAYERS + ", got " + numLayers);
        if (numExperts <= 0 || numExperts > MAX_EXPERTS) bad.add("num_experts must be in 1.." + MAX_EXPERTS + ", got " + numExperts);
        if (numSelectedExperts <= 0 || numSelectedExperts > numExperts)
            bad.add("num_selected_experts must be in 1..num_experts");
        if (ffnSize <= 0 || ffnSize > MAX_FFN) bad.add("ffn_size must be in 1.." + MAX_FFN + ", got " + ffnSize);
        if (padToken < 0 || padToken >= vocabSize) bad.add("pad_token out of range");
        if (eosToken < 0 || eosToken >= vocabSize) bad.add("eos_token out of range");
        // Real numbers: a NaN or infinite value (1e309 in JSON) would run, silently, to NaN logits.
        if (!(wideningFactor > 0) || !Double.isFinite(wideningFactor)) bad.add("widening_factor must be finite and > 0, got " + wideningFactor);
        // The runtime computes in float32: "finite" means finite (and, for eps, non-zero) as a float.
        if (!floatFinite(embeddingMultiplierScale)) bad.add("embedding_multiplier_scale must be finite (as float32), got " + embeddingMultiplierScale);
        if (!floatFinite(outputMultiplierScale)) bad.add("output_multiplier_scale must be finite (as float32), got " + outputMultiplierScale);
        if (!floatFinite(attnOutputMultiplier)) bad.add("attn_output_multiplier must be finite (as float32), got " + attnOutputMultiplier);
        // cap·tanh(x/cap) with cap 0 is 0 or NaN (0/0): no cap of 0 means anything, so it is refused.
        if (!(attnLogitCap > 0) || !floatFinite(attnLogitCap)) bad.add("attn_logit_cap must be finite and > 0, got " + attnLogitCap);
        // eps ≤ 0 divides by zero for an all-zero row (rsqrt(0)); the reference uses 1e-5.
        if (!((float) rmsNormEps > 0) || !floatFinite(rmsNormEps)) bad.add("rms_norm_eps must be finite and > 0 (as float32), got " + rmsNormEps);
        if (!(ropeBase > 0) || !Double.isFinite(ropeBase)) bad.add("rope_base must be finite and > 0, got " + ropeBase);
        // 0 = no limit from the configuration (the runtime's --max-context still applies); negative is meaningless.
        if (sequenceLen < 0) bad.add("sequence_len must be >= 0 (0 = no limit), got " + sequenceLen);
        if (!bad.isEmpty()) throw new IOException(source + ": invalid model configuration: " + String.join("; ", bad));
    }

    private static boolean floatFinite(double v) {
        return Float.isFinite((float) v);
    }

    /** This configuration as a JSON object with the reference's field names, in {@link #FIELDS} order. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("vocab_size", vocabSize).put("emb_size", embSize).put("key_size", keySize)
                .put("num_q_heads", numQHeads).put("num_kv_heads", numKvHeads).put("num_layers", numLayers)
                .put("num_experts", numExperts).put("num_selected_experts", numSelectedExperts)
                .put("widening_factor", wideningFactor).put("ffn_size", ffnSize)
                .put("embedding_multiplier_scale", embeddingMultiplierScale).put("output_multiplier_scale", outputMultiplierScale)
                .put("attn_output_multiplier", attnOutputMultiplier).put("attn_logit_cap", attnLogitCap)
                .put("rms_norm_eps", rmsNormEps).put("rope_base", ropeBase)
                .put("pad_token", padToken).put("eos_token", eosToken).put("sequence_len", sequenceLen);
        return o;
    }

    /** The inverse of {@link #toJson}: every field present and of its type (as {@link #merge} leaves them). */
    private static ModelConfig fromJson(ObjectNode o) {
        return new ModelConfig(o.get("vocab_size").intValue(), o.get("emb_size").intValue(), o.get("key_size").intValue(),
                o.get("num_q_heads").intValue(), o.get("num_kv_heads").intValue(), o.get("num_layers").intValue(),
                o.get("num_experts").intValue(), o.get("num_selected_experts").intValue(),
                o.get("widening_factor").doubleValue(), o.get("ffn_size").intValue(),
                o.get("embedding_multiplier_scale").doubleValue(), o.get("output_multiplier_scale").doubleValue(),
                o.get("attn_output_multiplier").doubleValue(), o.get("attn_logit_cap").doubleValue(),
                o.get("rms_norm_eps").doubleValue(), o.get("rope_base").doubleValue(),
                o.get("pad_token").intValue(), o.get("eos_token").intValue(), o.get("sequence_len").intValue());
    }
}
