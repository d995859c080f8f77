package grokkit.convert;

/**
 * One parameter of the source checkpoint: a float32 array, or xAI's int8 weight with its bf16
 * scales ({@code [..., 1, N]} per output column or {@code [..., 8, N]} row-block sharded).
 *
 * @param name   the reference's parameter name
 * @param weight the f32 array or the int8 weight
 * @param scales the bf16 scales, or null for an f32 array
 */
public record SourceTensor(String name, SourceArray weight, SourceArray scales) {
    public boolean quantized() {
        return scales != null;
    }

    /** 1 for per-column scales, 8 (in Grok-1) for row-block sharded scales, 0 for f32. */
    public int rowBlocks() {
        return scales == null ? 0 : (int) scales.dim(-2);
    }

    public long sourceBytes() {
        return weight.byteSize() + (scales == null ? 0 : scales.byteSize());
    }
}
