package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml Q4_1: 32 values, f16 scale d and offset m, codes 0..15 decoded as {@code code · d + m}. */
public final class Q4_1Codec extends Affine32Codec {
    public static final Q4_1Codec INSTANCE = new Q4_1Codec();

    private Q4_1Codec() {
        super(GgmlType.Q4_1, false);
    }
}
