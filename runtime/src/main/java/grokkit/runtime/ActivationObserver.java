package grokkit.runtime;

/**
 * Sees the inputs of the expert products as a {@link Session} computes them (for calibration
 * statistics such as {@code grok imatrix}). Called on the session's thread, in token order,
 * once per layer and selected expert per forward step; the rows must not be kept or changed.
 * A session without an observer pays one null check per layer.
 */
public interface ActivationObserver {
    /** {@code rows}: the normed inputs of expert {@code expert}'s gate and up products (moe/linear, linear_v) in {@code layer}. */
    void expertInput(int layer, int expert, float[][] rows);

    /** {@code rows}: the inputs gelu(gate)·up of the expert's down product (moe/linear_1). */
    void downInput(int layer, int expert, float[][] rows);
}
