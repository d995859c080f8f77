package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;
import grokkit.quant.Q4Nl;

/**
 * ggml IQ4_NL: 32 values, f16 scale d, codes 0..15 decoded as {@code d · LEVEL[code]} on the
 * non-uniform grid q4nl uses too ({@link Q4Nl#levels}: ggml's {@code kvalues_iq4nl}).
 */
public final class IQ4_NLCodec extends Symmetric32Codec {
    private static final ScaleSearch.Grid GRID = new ScaleSearch.Grid() {
        public int nearest(float v) { return Q4Nl.nearest(v); }

        public float level(int code) { return Q4Nl.level(code); }

        public float lowest() { return Q4Nl.level(0); }

        public float highest() { return Q4Nl.level(15); }
    };

    /** After GRID: the constructor reads it. */
    public static final IQ4_NLCodec INSTANCE = new IQ4_NLCodec();

    private IQ4_NLCodec() {
        super(GgmlType.IQ4_NL, GRID, false);
    }

    @Override
    float decode(float d, int code) {
        return d * Q4Nl.level(code);
    }
}
