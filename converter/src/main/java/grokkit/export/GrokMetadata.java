package grokkit.export;

import grokkit.gguf.GgufValue;
import grokkit.model.ModelConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The GGUF metadata of a Grok export, llama.cpp's {@code grok} architecture: every
 * hyper-parameter of the reference as a key (also those llama.cpp defaults to Grok-1's values,
 * so that a model of another size loads right), and the tokenizer. Types follow what llama.cpp
 * reads (u32 counts, f32 scales; it refuses a key of another type).
 */
public final class GrokMetadata {
    public static final String ARCH = "grok";

    private GrokMetadata() {}

    public static Map<String, GgufValue> of(ModelConfig c, TypeMix mix, GgufVocabulary vocab, String name) {
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        kv.put("general.architecture", GgufValue.string(ARCH));
        kv.put("general.type", GgufValue.string("model"));
        kv.put("general.name", GgufValue.string(name));
        kv.put("general.file_type", GgufValue.u32(mix.fileType()));
        kv.put("general.quantization_version", GgufValue.u32(2));
        String a = ARCH + ".";
        kv.put(a + "vocab_size", GgufValue.u32(c.vocabSize()));
        kv.put(a + "context_length", GgufValue.u32(c.sequenceLen()));
        kv.put(a + "embedding_length", GgufValue.u32(c.embSize()));
        kv.put(a + "block_count", GgufValue.u32(c.numLayers()));
        kv.put(a + "feed_forward_length", GgufValue.u32(c.ffnSize()));
        kv.put(a + "expert_feed_forward_length", GgufValue.u32(c.ffnSize()));
        kv.put(a + "expert_count", GgufValue.u32(c.numExperts()));
        kv.put(a + "expert_used_count", GgufValue.u32(c.numSelectedExperts()));
        kv.put(a + "attention.head_count", GgufValue.u32(c.numQHeads()));
        kv.put(a + "attention.head_count_kv", GgufValue.u32(c.numKvHeads()));
        kv.put(a + "attention.key_length", GgufValue.u32(c.keySize()));
        kv.put(a + "attention.value_length", GgufValue.u32(c.keySize()));
        kv.put(a + "attention.layer_norm_rms_epsilon", GgufValue.f32((float) c.rmsNormEps()));
        kv.put(a + "rope.dimension_count", GgufValue.u32(c.keySize()));
        kv.put(a + "rope.freq_base", GgufValue.f32((float) c.ropeBase()));
        kv.put(a + "embedding_scale", GgufValue.f32((float) c.embeddingMultiplierScale()));
        kv.put(a + "logit_scale", GgufValue.f32((float) c.outputMultiplierScale()));
        kv.put(a + "attention.output_scale", GgufValue.f32((float) c.attnOutputMultiplier()));
        kv.put(a + "attn_logit_softcapping", GgufValue.f32((float) c.attnLogitCap()));
        kv.put("tokenizer.ggml.model", GgufValue.string("llama"));
        kv.put("tokenizer.ggml.tokens", GgufValue.strings(vocab.tokens()));
        kv.put("tokenizer.ggml.scores", GgufValue.f32s(vocab.scores()));
        kv.put("tokenizer.ggml.token_type", GgufValue.i32s(vocab.types()));
        kv.put("tokenizer.ggml.bos_token_id", GgufValue.u32(vocab.bosId()));
        kv.put("tokenizer.ggml.eos_token_id", GgufValue.u32(vocab.eosId()));
        kv.put("tokenizer.ggml.unknown_token_id", GgufValue.u32(vocab.unkId()));
        kv.put("tokenizer.ggml.padding_token_id", GgufValue.u32(vocab.padId()));
        kv.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        kv.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return kv;
    }
}
