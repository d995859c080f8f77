package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml Q5_0: 32 values, f16 scale d, 5-bit codes 0..31 decoded as {@code (code − 16) · d}. */
public final class Q5_0Codec extends Symmetric32Codec {
    public static final Q5_0Codec INSTANCE = new Q5_0Codec();

    private Q5_0Codec() {
        super(GgmlType.Q5_0, ScaleSearch.uniform(-16, 15), true);
    }

    @Override
    float decode(float d, int code) {
        return (code - 16) * d;
    }
}
