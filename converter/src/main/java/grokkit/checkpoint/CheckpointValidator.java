package grokkit.checkpoint;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;

import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Checks one named checkpoint file against the model configuration: its kind, the dtypes,
 * byte order, C order, and the exact shapes, with each expected dimension named after the
 * configuration field it comes from. Scales may be per output column ({@code [..., 1, N]}) or
 * row-block sharded ({@code [..., 8, N]}, which needs the weight's rows divisible by 8).
 */
final class CheckpointValidator {
    static final int ROW_BLOCKS = 8;

    private CheckpointValidator() {}

    /** An expected shape, with the field name of each dimension for the message. */
    record Expected(TensorKind kind, long[] dims, String[] fields) {
        String describe() {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < dims.length; i++) sb.append(i > 0 ? ", " : "").append(fields[i]).append('=').append(dims[i]);
            return sb.append(']').toString();
        }
    }

    static Expected expected(String name, ModelConfig c) {
        long v = c.vocabSize(), d = c.embSize(), e = c.numExperts(), f = c.ffnSize();
        long q = (long) c.numQHeads() * c.keySize(), kv = (long) c.numKvHeads() * c.keySize();
        String qf = "num_q_heads*key_size", kvf = "num_kv_heads*key_size";
        if (name.equals(ParamNames.EMBEDDINGS)) return f32(new long[]{v, d}, "vocab_size", "emb_size");
        if (name.equals(ParamNames.FINAL_NORM)) return f32(new long[]{d}, "emb_size");
        return switch (ParamNames.paramOf(name)) {
            case ParamNames.NORM_PRE_ATTN, ParamNames.NORM_POST_ATTN, ParamNames.NORM_PRE_MOE, ParamNames.NORM_POST_MOE ->
                    f32(new long[]{d}, "emb_size");
            case ParamNames.ROUTER -> f32(new long[]{d, e}, "emb_size", "num_experts");
            case ParamNames.ATTN_QUERY -> q8(new long[]{d, q}, "emb_size", qf);
            case ParamNames.ATTN_KEY, ParamNames.ATTN_VALUE -> q8(new long[]{d, kv}, "emb_size", kvf);
            case ParamNames.ATTN_OUT -> q8(new long[]{q, d}, qf, "emb_size");
            case ParamNames.MOE_LINEAR, ParamNames.MOE_LINEAR_V -> q8(new long[]{e, d, f}, "num_experts", "emb_size", "ffn_size");
            case ParamNames.MOE_LINEAR_1 -> q8(new long[]{e, f, d}, "num_experts", "ffn_size", "emb_size");
            default -> throw new IllegalArgumentException("not a Grok-1 parameter: " + name);
        };
    }

    private static Expected f32(long[] dims, String... fields) {
        return new Expected(TensorKind.F32, dims, fields);
    }

    private static Expected q8(long[] dims, String... fields) {
        return new Expected(TensorKind.INT8_WITH_BF16_SCALES, dims, fields);
    }

    static CheckpointTensor validate(TensorFile t, String name, ModelConfig config) throws BadInputException {
        return validate(t, name, config, false);
    }

    /**
     * As {@link #validate(TensorFile, String, ModelConfig)}; unless {@code allowScaleLayout}, an
     * int8 weight's scales must also have the release's layout for that parameter
     * ({@link ParamNames#releaseScaleRowBlocks}): a checkpoint with other layouts is not the
     * release, and converting it is a deliberate choice ({@code --allow-scale-layout}).
     */
    static CheckpointTensor validate(TensorFile t, String name, ModelConfig config, boolean allowScaleLayout) throws BadInputException {
        String where = t.file() + " (" + name + ")";
        Expected exp = expected(name, config);
        if (t.kind() != exp.kind())
            throw new BadInputException(where + ": holds a " + t.kind().description() + ", expected a " + exp.kind().description());
        if (exp.kind() == TensorKind.F32) {
            checkArray(where, "array", t.weight(), DType.F32);
        } else {
            checkArray(where, "weight", t.weight(), DType.INT8);
            checkArray(where, "scales", t.scales(), DType.BF16);
        }
        if (!Arrays.equals(t.weight().shape(), exp.dims()))
            throw new BadInputException(where + ": " + (exp.kind() == TensorKind.F32 ? "array" : "weight") + " shape "
                    + t.weight().shapeString() + ", expected " + exp.describe() + sourceHint());
        if (t.scales() != null) checkScales(where, t.weight(), t.scales());
        CheckpointTensor ct = new CheckpointTensor(t.index(), t.fileName(), name, t.kind(), t.weight(), t.scales());
        int release = ParamNames.releaseScaleRowBlocks(name);
        if (t.scales() != null && !allowScaleLayout && release > 0 && ct.scaleRowBlocks() != release)
            throw new BadInputException(where + ": scales " + t.scales().shapeString() + " are " + layoutName(ct.scaleRowBlocks())
                    + ", but Grok-1's release has " + layoutName(release) + " scales for " + ParamNames.paramOf(name)
                    + " (a different checkpoint, or a mistake in writing it); pass --allow-scale-layout to accept it (recorded in the manifest)");
        return ct;
    }

    static String layoutName(int rowBlocks) {
        return rowBlocks == 1 ? "per-column ([..., 1, N])" : "row-block ([..., " + rowBlocks + ", N])";
    }

    private static String sourceHint() {
        return " (the configuration's values: from --model-config, inferred from other files, or Grok-1's defaults; see the notes)";
    }

    private static void checkArray(String where, String what, ArrayDescriptor a, DType dtype) throws BadInputException {
        if (a.dtype() != dtype) throw new BadInputException(where + ": " + what + " has dtype " + a.dtype() + ", expected " + dtype);
        if (a.dtype().itemSize() > 1 && a.byteOrder() != ByteOrder.LITTLE_ENDIAN)
            throw new BadInputException(where + ": " + what + " is big-endian; only little-endian arrays are supported");
        if (a.fortranOrder() && nonTrivialRank(a) > 1)
            throw new BadInputException(where + ": " + what + " is stored in Fortran (column-major) order; C order is expected");
    }

    /** A Fortran-ordered array with at most one dimension > 1 has the same bytes as a C-ordered one. */
    private static int nonTrivialRank(ArrayDescriptor a) {
        int n = 0;
        for (long d : a.shape()) if (d > 1) n++;
        return n;
    }

    /** Scales are {@code weight.shape} with the row dimension replaced by 1 (per-column) or 8 (row blocks). */
    private static void checkScales(String where, ArrayDescriptor w, ArrayDescriptor s) throws BadInputException {
        long[] ws = w.shape(), ss = s.shape();
        int rowDim = ws.length - 2;
        long[] perColumn = ws.clone();
        perColumn[rowDim] = 1;
        long[] rowBlock = ws.clone();
        rowBlock[rowDim] = ROW_BLOCKS;
        if (Arrays.equals(ss, perColumn)) return;
        if (Arrays.equals(ss, rowBlock)) {
            if (ws[rowDim] % ROW_BLOCKS != 0)
                throw new BadInputException(where + ": row-block scales " + s.shapeString() + " need the weight's " + ws[rowDim]
                        + " rows to be divisible by " + ROW_BLOCKS);
            return;
        }
        throw new BadInputException(where + ": scales shape " + s.shapeString() + ", expected " + Arrays.toString(perColumn)
                + " (per output column) or " + Arrays.toString(rowBlock) + " (row-block sharded) for weight " + w.shapeString());
    }
}
