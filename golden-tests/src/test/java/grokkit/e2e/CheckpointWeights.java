package grokkit.e2e;

import grokkit.checkpoint.ArrayDescriptor;
import grokkit.checkpoint.Checkpoint;
import grokkit.checkpoint.CheckpointTensor;
import grokkit.checkpoint.DType;
import grokkit.checkpoint.TensorKind;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.ScalarMatrices;
import grokkit.quant.WeightMatrix;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Test weights: a {@code ckpt-0} checkpoint dequantized into float32 in memory, exactly as the
 * golden files' f32 mode does ({@code W = q·s} in float32; row-block scales {@code [.., 8, N]}
 * apply per block of {@code in/8} input rows). Small checkpoints only: everything is copied.
 */
final class CheckpointWeights implements ModelWeights {
    private final Checkpoint ckpt;
    private final Arena arena = Arena.ofShared();

    /** {@code configJson}: the fixture's config.json (its multipliers are not in the shapes), or null. */
    CheckpointWeights(Path ckptDir, Path configJson) throws IOException {
        ModelConfig.Parsed given = configJson != null && java.nio.file.Files.isRegularFile(configJson)
                ? ModelConfig.read(configJson, ModelConfig.grok1()) : null;
        this.ckpt = Checkpoint.open(ckptDir, given);
    }

    @Override
    public ModelConfig config() {
        return ckpt.config();
    }

    @Override
    public WeightMatrix embeddings() {
        // [vocab, emb] row-major is already out-major for in = emb, out = vocab.
        CheckpointTensor t = tensor(ParamNames.EMBEDDINGS);
        float[] data = floats(t.weight());
        return ScalarMatrices.ofFloats((int) t.weight().dim(1), (int) t.weight().dim(0), data);
    }

    @Override
    public float[] vector(String name) {
        return floats(tensor(name).weight());
    }

    @Override
    public WeightMatrix matrix(String name) {
        CheckpointTensor t = tensor(name);
        return dequantize(t, 0, (int) t.weight().dim(0), (int) t.weight().dim(1));
    }

    @Override
    public WeightMatrix expert(String name, int expert) {
        CheckpointTensor t = tensor(name);
        return dequantize(t, expert, (int) t.weight().dim(1), (int) t.weight().dim(2));
    }

    /** Matrix {@code index} of a [.., in, out] tensor as out-major float32. */
    private WeightMatrix dequantize(CheckpointTensor t, int index, int in, int out) {
        float[] w = new float[in * out];
        long base = (long) index * in * out;
        if (t.kind() == TensorKind.F32) {
            MemorySegment s = map(t.weight());
            ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(t.weight().byteOrder());
            for (int i = 0; i < in; i++)
                for (int o = 0; o < out; o++) w[o * in + i] = s.getAtIndex(f, base + (long) i * out + o);
        } else {
            if (t.weight().dtype() != DType.INT8 || t.scales().dtype() != DType.BF16)
                throw new IllegalStateException(t.name() + ": expected int8 weight + bf16 scales");
            MemorySegment q = map(t.weight()), sc = map(t.scales());
            ValueLayout.OfShort bf = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(t.scales().byteOrder());
            int blocks = t.scaleRowBlocks(), rowsPerBlock = in / blocks;
            for (int i = 0; i < in; i++) {
                long scaleRow = ((long) index * blocks + i / rowsPerBlock) * out;
                for (int o = 0; o < out; o++) {
                    float s = Float.intBitsToFloat((sc.getAtIndex(bf, scaleRow + o) & 0xffff) << 16);
                    w[o * in + i] = q.get(ValueLayout.JAVA_BYTE, base + (long) i * out + o) * s;
                }
            }
        }
        return ScalarMatrices.ofFloats(in, out, w);
    }

    private CheckpointTensor tensor(String name) {
        CheckpointTensor t = ckpt.tensor(name);
        if (t == null) throw new IllegalArgumentException("checkpoint has no tensor " + name);
        return t;
    }

    private float[] floats(ArrayDescriptor a) {
        if (a.dtype() != DType.F32) throw new IllegalStateException(a + ": expected float32");
        return map(a).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(a.byteOrder()));
    }

    private MemorySegment map(ArrayDescriptor a) {
        try {
            return ckpt.map(a, arena);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        arena.close();
        ckpt.close();
    }

}
