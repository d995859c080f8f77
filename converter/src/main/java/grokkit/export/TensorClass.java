package grokkit.export;

/** The classes of tensors whose GGUF type the export options choose between. */
public enum TensorClass {
    /** The tied embedding table / output head ({@code token_embd}): {@code --embedding-type}. */
    EMBEDDING,
    /** The four attention projections ({@code attn_q/k/v/output}): {@code --attention-type}. */
    ATTENTION,
    /** The MoE experts ({@code ffn_gate/up/down_exps}): {@code --type}. */
    EXPERT,
    /** The MoE router ({@code ffn_gate_inp}): always f32 (llama.cpp requires it). */
    ROUTER,
    /** RMSNorm scales: always f32 (ggml multiplies f32 activations by them). */
    NORM
}
