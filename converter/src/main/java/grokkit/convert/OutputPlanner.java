package grokkit.convert;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
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
        EncodingSpec embSpec = opts.embeddings().equals("bf16") ? EncodingSpec.bf16() : EncodingSpec.f32();
        out.add(floatTensor(emb, MatrixView.rowsAreOutputs(emb.weight()), embSpec, unit));
        SourceTensor norm = get(src, ParamNames.FINAL_NORM);
        out.add(floatTensor(norm, MatrixView.vector(norm.weight()), EncodingSpec.f32(), unit));
        for (int l = 0; l < c.numLayers(); l++) {
            for (String p : List.of(ParamNames.ATTN_QUERY, ParamNames.ATTN_KEY, ParamNames.ATTN_VALUE, ParamNames.ATTN_OUT))
                out.add(matrix(get(src, ParamNames.layer(l, p)), opts.attention(), opts, unit, notes));
            SourceTensor router = get(src, ParamNames.layer(l, ParamNames.ROUTER));
            out.add(floatTensor(router, MatrixView.weight(router.weight()), EncodingSpec.f32(), unit));
            for (String p : List.of(ParamNames.NORM_PRE_ATTN, ParamNames.NORM_POST_ATTN, ParamNames.NORM_PRE_MOE, ParamNames.NORM_POST_MOE)) {
                SourceTensor v = get(src, ParamNames.layer(l, p));
                out.add(floatTensor(v, MatrixView.vector(v.weight()), EncodingSpec.f32(), unit));
            }
            List<SourceTensor> moe = new ArrayList<>();
            for (String p : List.of(ParamNames.MOE_LINEAR, ParamNames.MOE_LINEAR_V, ParamNames.MOE_LINEAR_1))
                moe.add(get(src, ParamNames.layer(l, p)));
            for (int e = 0; e < c.numExperts(); e++) {
                for (SourceTensor t : moe) out.add(expert(t, e, opts, unit[0], e == 0 ? notes : new ArrayList<>()));
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

    private static OutputTensor floatTensor(SourceTensor t, MatrixView v, EncodingSpec spec, int[] unit) throws BadInputException {
        if (t.quantized()) throw new BadInputException(t.name() + ": expected a float32 array, found an int8 weight");
        return new OutputTensor(t.name(), null, t.weight().shape(), v, spec, spec.name().equals(EncodingSpec.F32), unit[0]++);
    }

    private static OutputTensor matrix(SourceTensor t, String option, ConvertOptions opts, int[] unit, List<String> notes) throws BadInputException {
        if (!t.quantized()) {
            // A float32 projection (not in Grok-1's release): stored as f32, out-major.
            return new OutputTensor(t.name(), null, t.weight().shape(), MatrixView.weight(t.weight()), EncodingSpec.f32(), true, unit[0]++);
        }
        MatrixView v = MatrixView.quantized(t, -1);
        EncodingSpec spec = spec(t, v, option, opts, notes);
        return new OutputTensor(t.name(), null, t.weight().shape(), v, spec, spec.name().equals(EncodingSpec.INT8_ROWBLOCK), unit[0]++);
    }

    private static OutputTensor expert(SourceTensor t, int e, ConvertOptions opts, int unit, List<String> notes) throws BadInputException {
        if (!t.quantized() || t.weight().rank() != 3) throw new BadInputException(t.name() + ": expected int8 expert weights [experts, in, out]");
        MatrixView v = MatrixView.quantized(t, e);
        EncodingSpec spec = spec(t, v, opts.experts(), opts, notes);
        return new OutputTensor(t.name(), e, new long[] {v.in, v.out}, v, spec, spec.name().equals(EncodingSpec.INT8_ROWBLOCK), unit);
    }

    private static EncodingSpec spec(SourceTensor t, MatrixView v, String option, ConvertOptions opts, List<String> notes) throws BadInputException {
        if (v.in % v.blocks != 0) throw new BadInputException(t.name() + ": " + v.in + " input rows do not split into " + v.blocks + " scale row blocks");
        EncodingSpec spec = opts.encodingFor(option, v.in, t.rowBlocks());
        if (option.equals("q4_0") && v.in % 32 != 0)
            notes.add(t.name() + ": input dimension " + v.in + " is not a multiple of 32; q4_0 zero-pads each row's last block");
        if (option.equals("q4") && spec.groupSize() != opts.groupSize())
            notes.add(t.name() + ": input dimension " + v.in + " is not a multiple of --group-size " + opts.groupSize() + "; "
                    + (spec.name().equals(EncodingSpec.Q4) ? "using q4 groups of " + spec.groupSize() : "kept as int8"));
        try {
            spec.checkShape(v.in, v.out);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(t.name() + ": " + e.getMessage());
        }
        return spec;
    }
}
