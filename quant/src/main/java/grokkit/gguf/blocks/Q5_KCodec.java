package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml Q5_K: 256-value super-blocks, 8 sub-blocks of 32 with 6-bit scales and mins, 5-bit codes (5.5 bits per weight). */
public final class Q5_KCodec extends AffineKCodec {
    public static final Q5_KCodec INSTANCE = new Q5_KCodec();

    private Q5_KCodec() {
        super(GgmlType.Q5_K, true);
    }
}
