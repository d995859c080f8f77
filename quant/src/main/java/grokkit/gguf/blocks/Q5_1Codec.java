package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml Q5_1: 32 values, f16 scale d and offset m, 5-bit codes 0..31 decoded as {@code code · d + m}. */
public final class Q5_1Codec extends Affine32Codec {
    public static final Q5_1Codec INSTANCE = new Q5_1Codec();

    private Q5_1Codec() {
        super(GgmlType.Q5_1, true);
    }
}
