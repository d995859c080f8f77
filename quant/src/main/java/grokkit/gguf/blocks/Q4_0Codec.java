package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml Q4_0: 32 values, f16 scale d, codes 0..15 decoded as {@code (code − 8) · d}. */
public final class Q4_0Codec extends Symmetric32Codec {
    public static final Q4_0Codec INSTANCE = new Q4_0Codec();

    private Q4_0Codec() {
        super(GgmlType.Q4_0, ScaleSearch.uniform(-8, 7), false);
    }

    @Override
    float decode(float d, int code) {
        return (code - 8) * d;
    }
}
