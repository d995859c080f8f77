package grokkit.checkpoint;

/**
 * One checkpoint file: its position in the file order, its parameter name as the reference
 * spells it ({@code transformer/decoder_layer_10/moe/linear/w}), and its arrays.
 *
 * @param index    {@code i} of {@code tensor{i:05d}_000}
 * @param fileName the file's name
 * @param name     the parameter name
 * @param kind     f32 array or int8 weight with bf16 scales
 * @param weight   the f32 array, or the int8 weight
 * @param scales   the bf16 scales; null for {@link TensorKind#F32}
 */
public record CheckpointTensor(int index, String fileName, String name, TensorKind kind,
                               ArrayDescriptor weight, ArrayDescriptor scales) {

    /**
     * How many row blocks the scales have: 1 when the scales are per output column
     * ({@code [..., 1, N]}), 8 when row-block sharded ({@code [..., 8, N]}: block b of the
     * weight's input rows, {@code rows/8} long, has its own per-column scales); 0 for F32.
     */
    public int scaleRowBlocks() {
        return scales == null ? 0 : (int) scales.dim(scales.rank() - 2);
    }

    /** The weight, then the scales if any. */
    public java.util.List<ArrayDescriptor> arrays() {
        return scales == null ? java.util.List.of(weight) : java.util.List.of(weight, scales);
    }

    /** Logical parameter count (the weight's elements; scales are not counted). */
    public long parameterCount() {
        return weight.elementCount();
    }

    /** Bytes of array payload in the file (weight plus scales). */
    public long payloadBytes() {
        return weight.byteLength() + (scales == null ? 0 : scales.byteLength());
    }

    /** "per-column", "row-block x8" or "" for f32. */
    public String scaleLayout() {
        int blocks = scaleRowBlocks();
        return blocks == 0 ? "" : blocks == 1 ? "per-column" : "row-block x" + blocks;
    }
}
