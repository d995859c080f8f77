package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;

/** ggml Q4_K: 256-value super-blocks, 8 sub-blocks of 32 with 6-bit scales and mins, 4-bit codes (4.5 bits per weight). */
public final class Q4_KCodec extends AffineKCodec {
    public static final Q4_KCodec INSTANCE = new Q4_KCodec();

    private Q4_KCodec() {
        super(GgmlType.Q4_K, false);
    }
}
