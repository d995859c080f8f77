package grokkit.convert;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Encoding;
import grokkit.quant.EncodingSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * The output records, in file order: embeddings, final norm, then for each layer in numeric
 * order its attention projections, router and norms, followed by the experts, expert-major
 * (for expert e: {@code moe/linear}, {@code moe/linear_v}, {@code moe/linear_1} back to back,
 * which is the order the runtime uses them in). Each record's encoding follows the options.
 */
final class OutputPlanner {
    private OutputPlanner() {}

    static List<OutputTensor> plan(ConversionSource src, ConvertOptions opts) throws BadInputException {
        return plan(src, opts, new ArrayList<>());
    }

    /** As {@link #plan(ConversionSource, ConvertOptions)}; adds to {@code notes} where an option could not be applied as asked. */
    static List<OutputTensor> plan(ConversionSource src, ConvertOptions opts, List<String> notes) throws BadInputException {
        ModelConfig c = src.config();
        List<OutputTensor> out = new ArrayList<>();
        int[] unit = {0};
        SourceTensor emb = get(src, ParamNames.EMBEDDINGS);
        EncodingSpec embSpec = opts.embeddingSpec();
        out.add(floatTensor(emb, -1, null, MatrixView.rowsAreOutputs(emb.weight()), embSpec, unit));
        SourceTensor norm = get(src, ParamNames.FINAL_NORM);
        out.add(floatTensor(norm, -1, null, MatrixView.vector(norm.weight()), EncodingSpec.f32(), unit));
        for (int l = 0; l < c.numLayers(); l++) {
            for (String p : List.of(ParamNames.ATTN_QUERY, ParamNames.ATTN_KEY, ParamNames.ATTN_VALUE, ParamNames.ATTN_OUT))
                out.add(matrix(get(src, ParamNames.layer(l, p)), l, p, opts.attentionEncoding(), opts, unit, notes));
            SourceTensor router = get(src, ParamNames.layer(l, ParamNames.ROUTER));
            out.add(floatTensor(router, l, ParamNames.ROUTER, MatrixView.weight(router.weight()), EncodingSpec.f32(), unit));
            for (String p : List.of(ParamNames.NORM_PRE_ATTN, ParamNames.NORM_POST_ATTN, ParamNames.NORM_PRE_MOE, ParamNames.NORM_POST_MOE)) {
                SourceTensor v = get(src, ParamNames.layer(l, p));
                out.add(floatTensor(v, l, p, MatrixView.vector(v.weight()), EncodingSpec.f32(), unit));
            }
            List<String> moeParams = List.of(ParamNames.MOE_LINEAR, ParamNames.MOE_LINEAR_V, ParamNames.MOE_LINEAR_1);
            List<SourceTensor> moe = new ArrayList<>();
            for (String p : moeParams) moe.add(get(src, ParamNames.layer(l, p)));
            for (int e = 0; e < c.numExperts(); e++) {
                for (int k = 0; k < moe.size(); k++)
                    out.add(expert(moe.get(k), l, moeParams.get(k), e, opts, unit[0], e == 0 ? notes : new ArrayList<>()));
                unit[0]++;
            }
        }
        return out;
    }

    private static SourceTensor get(ConversionSource src, String name) throws BadInputException {
        try {
            return src.tensor(name);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("checkpoint has no tensor " + name);
        }
    }

    private static OutputTensor floatTensor(SourceTensor t, int layer, String param, MatrixView v, EncodingSpec spec, int[] unit)
            throws BadInputException {
        if (t.quantized()) throw new BadInputException(t.name() + ": expected a float32 array, found an int8 weight");
        return new OutputTensor(t.name(), null, layer, param, t.weight().shape(), v, spec, spec.encoding() == Encoding.F32, unit[0]++);
    }

    private static OutputTensor matrix(SourceTensor t, int layer, String param, Encoding option, ConvertOptions opts, int[] unit,
                                       List<String> notes) throws BadInputException {
        if (!t.quantized()) {
            // A float32 projection (not in Grok-1's release): stored as f32, out-major.
            return new OutputTensor(t.name(), null, layer, param, t.weight().shape(), MatrixView.weight(t.weight()), EncodingSpec.f32(),
                    true, unit[0]++);
        }
        MatrixView v = MatrixView.quantized(t, -1);
        EncodingSpec spec = spec(t, v, option, opts, notes);
        return new OutputTensor(t.name(), null, layer, param, t.weight().shape(), v, spec, spec.encoding() == Encoding.INT8_ROWBLOCK, unit[0]++);
    }

    private static OutputTensor expert(SourceTensor t, int layer, String param, int e, ConvertOptions opts, int unit, List<String> notes)
            throws BadInputException {
        if (!t.quantized() || t.weight().rank() != 3) throw new BadInputException(t.name() + ": expected int8 expert weights [experts, in, out]");
        MatrixView v = MatrixView.quantized(t, e);
        EncodingSpec spec = spec(t, v, opts.expertEncoding(), opts, notes);
        return new OutputTensor(t.name(), e, layer, param, new long[] {v.in, v.out}, v, spec, spec.encoding() == Encoding.INT8_ROWBLOCK, unit);
    }

    private static EncodingSpec spec(SourceTensor t, MatrixView v, Encoding option, ConvertOptions opts, List<String> notes) throws BadInputException {
        if (v.in % v.blocks != 0) throw new BadInputException(t.name() + ": " + v.in + " input rows do not split into " + v.blocks + " scale row blocks");
        EncodingSpec spec = opts.encodingFor(option, v.in, t.rowBlocks());
        if (option == Encoding.Q4_0 && v.in % 32 != 0)
            notes.add(t.name() + ": input dimension " + v.in + " is not a multiple of 32; q4_0 zero-pads each row's last block");
        if (option == Encoding.Q4 && spec.groupSize() != opts.groupSize())
            notes.add(t.name() + ": input dimension " + v.in + " is not a multiple of --group-size " + opts.groupSize() + "; "
                    + (spec.encoding() == Encoding.Q4 ? "using q4 groups of " + spec.groupSize() : "kept as int8"));
        try {
            spec.checkShape(v.in, v.out);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(t.name() + ": " + e.getMessage());
        }
        return spec;
    }
}
