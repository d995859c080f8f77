package grokkit.checkpoint;

/** What a checkpoint file holds. */
public enum TensorKind {
    /** A plain float32 numpy array (embeddings, RMSNorm scales, router). */
    F32("f32", "f32 array"),
    /** A QuantizedWeight8bit: int8 weight with bf16 scales (every attention and expert matrix). */
    INT8_WITH_BF16_SCALES("int8_bf16_scales", "int8 weight + bf16 scales");

    private final String jsonName;
    private final String description;

    TensorKind(String jsonName, String description) {
        this.jsonName = jsonName;
        this.description = description;
    }

    /** The stable name used in {@code grok inspect --json}. */
    public String jsonName() {
        return jsonName;
    }

    public String description() {
        return description;
    }
}
