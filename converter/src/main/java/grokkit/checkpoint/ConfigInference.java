package grokkit.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Completes the model configuration from the checkpoint's shapes. Fields the user gave win
 * (the validator then checks the shapes against them); fields the shapes determine are
 * inferred; the rest take Grok-1's values. Every inferred or defaulted value is reported in
 * the notes, because a silently defaulted hyper-parameter is how a runtime goes wrong.
 */
final class ConfigInference {
    private ConfigInference() {}

    static ModelConfig infer(Path dir, ModelConfig.Parsed given, int layers, Map<String, TensorFile> byName,
                             List<String> notes) throws BadInputException {
        ModelConfig base = given != null ? given.config() : ModelConfig.grok1();
        Set<String> fromUser = given != null ? given.givenFields() : Set.of();
        ObjectNode node = base.toJson();
        Set<String> inferred = new LinkedHashSet<>();
        List<String> how = new ArrayList<>();

        node.put("num_layers", layers);
        if (!fromUser.contains("num_layers")) inferred.add("num_layers");

        long[] emb = shape(byName, ParamNames.EMBEDDINGS, false);
        if (emb != null && emb.length == 2) {
            if (set(node, fromUser, inferred, "vocab_size", emb[0]) | set(node, fromUser, inferred, "emb_size", emb[1]))
                how.add("embeddings " + java.util.Arrays.toString(emb));
        }
        long[] router = shape(byName, ParamNames.layer(0, ParamNames.ROUTER), false);
        long[] moe = shape(byName, ParamNames.layer(0, ParamNames.MOE_LINEAR), true);
        if (moe != null && moe.length == 3) {
            if (set(node, fromUser, inferred, "num_experts", moe[0])) how.add("moe/linear " + java.util.Arrays.toString(moe));
        } else if (router != null && router.length == 2 && set(node, fromUser, inferred, "num_experts", router[1])) {
            how.add("router " + java.util.Arrays.toString(router));
        }
        // The reference derives ffn_size from widening_factor; a given widening_factor decides it.
        boolean ffnDecided = fromUser.contains("ffn_size") || fromUser.contains("widening_factor");
        if (moe != null && moe.length == 3 && !ffnDecided) {
            node.put("ffn_size", moe[2]);
            inferred.add("ffn_size");
            if (!how.contains("moe/linear " + java.util.Arrays.toString(moe))) how.add("moe/linear " + java.util.Arrays.toString(moe));
        }
        inferHeads(node, fromUser, inferred, how, notes,
                shape(byName, ParamNames.layer(0, ParamNames.ATTN_QUERY), true),
                shape(byName, ParamNames.layer(0, ParamNames.ATTN_KEY), true));
        if (!fromUser.contains("attn_output_multiplier") && node.get("key_size").asInt() > 0
                && node.get("key_size").asInt() != base.keySize()) {
            // The reference uses 1/sqrt(key_size); for Grok-1's key_size keep run.py's exact constant.
            node.put("attn_output_multiplier", 1.0 / Math.sqrt(node.get("key_size").asInt()));
            inferred.add("attn_output_multiplier");
            how.add("attn_output_multiplier = 1/sqrt(key_size)");
        }

        ModelConfig config;
        try {
            config = ModelConfig.merge(node, ModelConfig.grok1(), dir.toString()).config();
        } catch (IOException e) {
            throw new BadInputException(dir + ": the configuration inferred from the checkpoint is invalid: " + e.getMessage(), e);
        }
        if (!inferred.isEmpty()) {
            StringBuilder sb = new StringBuilder("inferred from the checkpoint:");
            for (String f : inferred) sb.append(' ').append(f).append('=').append(node.get(f).asText());
            notes.add(sb + (how.isEmpty() ? "" : " (from " + String.join(", ", how) + ")"));
        }
        List<String> defaulted = new ArrayList<>();
        for (String f : ModelConfig.FIELDS)
            if (!fromUser.contains(f) && !inferred.contains(f)) defaulted.add(f + "=" + node.get(f).asText());
        if (!defaulted.isEmpty())
            notes.add((given == null ? "no --model-config given; " : "") + "Grok-1 defaults (not in the checkpoint's shapes): " + String.join(" ", defaulted));
        return config;
    }

    /** The shape-determined fields, for messages. */
    static String shapeSummary(ModelConfig c) {
        return "vocab_size=" + c.vocabSize() + " emb_size=" + c.embSize() + " num_layers=" + c.numLayers()
                + " num_experts=" + c.numExperts() + " ffn_size=" + c.ffnSize() + "; Grok-1: vocab_size=131072 emb_size=6144 num_layers=64 num_experts=8 ffn_size=32768";
    }

    /** Sets {@code field} unless the user gave it; returns whether it was inferred. */
    private static boolean set(ObjectNode node, Set<String> fromUser, Set<String> inferred, String field, long value) {
        if (fromUser.contains(field) || value > Integer.MAX_VALUE) return false;
        node.put(field, (int) value);
        inferred.add(field);
        return true;
    }

    private static long[] shape(Map<String, TensorFile> byName, String name, boolean quantizedOnly) {
        TensorFile t = byName.get(name);
        if (t == null || (quantizedOnly && t.kind() != TensorKind.INT8_WITH_BF16_SCALES)) return null;
        return t.weight().shape();
    }

    /**
     * The query and key projections give q_heads·key_size and kv_heads·key_size, not how each
     * splits. A given key_size or head count decides it; otherwise Grok-1's key_size (128) if
     * it divides both, else a guess that the notes flag.
     */
    private static void inferHeads(ObjectNode node, Set<String> fromUser, Set<String> inferred, List<String> how,
                                   List<String> notes, long[] query, long[] key) {
        if (query == null || key == null || query.length != 2 || key.length != 2) return;
        long q = query[1], kv = key[1];
        if (q <= 0 || kv <= 0 || q > Integer.MAX_VALUE || kv > Integer.MAX_VALUE) return;
        long keySize;
        if (fromUser.contains("key_size")) keySize = node.get("key_size").asLong();
        else if (fromUser.contains("num_q_heads") && q % node.get("num_q_heads").asLong() == 0) keySize = q / node.get("num_q_heads").asLong();
        else if (fromUser.contains("num_kv_heads") && kv % node.get("num_kv_heads").asLong() == 0) keySize = kv / node.get("num_kv_heads").asLong();
        else if (q % node.get("key_size").asLong() == 0 && kv % node.get("key_size").asLong() == 0) keySize = node.get("key_size").asLong();
        else {
            long g = gcd(q, kv);
            keySize = g;
            while (keySize > 128 || keySize % 2 != 0) {
                long next = keySize;
                for (long d = 2; d <= keySize; d++) if (keySize % d == 0) { next = keySize / d; break; }
                if (next == keySize) break;
                keySize = next;
            }
            notes.add("WARNING: key_size is a guess (" + keySize + "): the shapes give only q_heads x key_size = " + q
                    + " and kv_heads x key_size = " + kv + "; give key_size in --model-config");
        }
        if (keySize <= 0 || q % keySize != 0 || kv % keySize != 0) return; // the validator reports the mismatch
        if (!fromUser.contains("key_size")) { node.put("key_size", keySize); inferred.add("key_size"); }
        if (!fromUser.contains("num_q_heads")) { node.put("num_q_heads", q / keySize); inferred.add("num_q_heads"); }
        if (!fromUser.contains("num_kv_heads")) { node.put("num_kv_heads", kv / keySize); inferred.add("num_kv_heads"); }
        how.add("query [" + query[0] + ", " + q + "], key [" + key[0] + ", " + kv + "]");
    }

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
