package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.shard.ShardPlanner;

/**
 * One record of the output: which source values it stores ({@link MatrixView}), in which
 * encoding, and the unit it is kept together with (an expert's three matrices share one).
 */
record OutputTensor(String name, Integer expert, long[] shape, MatrixView view, EncodingSpec spec, boolean lossless, int unit) {
    ShardPlanner.Planned planned() {
        return new ShardPlanner.Planned(name, expert, shape, view.in, view.out, spec, unit);
    }

    String label() {
        return expert == null ? name : name + " [expert " + expert + "]";
    }
}
