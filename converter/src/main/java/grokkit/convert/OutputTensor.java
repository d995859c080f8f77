package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.shard.ShardPlanner;

/**
 * One record of the output: which source values it stores ({@link MatrixView}), in which
 * encoding, and the unit it is kept together with (an expert's three matrices share one).
 *
 * @param layer    the decoder layer the record belongs to, or -1 (embeddings, final norm)
 * @param param    its parameter within the layer ({@code grokkit.model.ParamNames}, e.g. {@code moe/linear_1/w}), or null
 * @param lossless whether the stored values are exactly the source's (no error to measure)
 */
record OutputTensor(String name, Integer expert, int layer, String param, long[] shape, MatrixView view, EncodingSpec spec,
                    boolean lossless, int unit) {

    /** How a record's bytes are produced. */
    enum Storage {
        /** Lossless f32 whose stored rows are the source's bytes (embeddings, norm vectors): copied. */
        COPY_F32_ROWS,
        /** xAI's int8 values and scales, stored as they are (int8-rowblock): transposed, never re-quantized. */
        COPY_INT8,
        /** Read as floats and encoded by the encoding's {@link grokkit.quant.MatrixEncoder}. */
        ENCODE
    }

    Storage storage() {
        if (!lossless) return Storage.ENCODE;
        if (view.rawF32Rows()) return Storage.COPY_F32_ROWS;
        if (view.int8()) return Storage.COPY_INT8;
        return Storage.ENCODE; // lossless f32 that is not laid out as stored (the router): encoded, exactly
    }

    ShardPlanner.Planned planned() {
        return new ShardPlanner.Planned(name, expert, shape, view.in, view.out, spec, unit);
    }

    String label() {
        return expert == null ? name : name + " [expert " + expert + "]";
    }
}
