package grokkit.convert;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class TransposeTest {
    @Test
    void eightByEightBlocksTransposeExactly() {
        SplittableRandom r = new SplittableRandom(3);
        byte[] src = new byte[13 * 21];
        for (int i = 0; i < src.length; i++) src[i] = (byte) r.nextInt();
        byte[] dst = new byte[11 * 17];
        int s = 2 * 21 + 5, d = 17 + 3;
        Transpose.bytes8x8(java.lang.foreign.MemorySegment.ofArray(src), s, 21, java.lang.foreign.MemorySegment.ofArray(dst), d, 17);
        for (int row = 0; row < 8; row++)
            for (int col = 0; col < 8; col++)
                assertThat(dst[d + col * 17 + row]).as("r%d c%d", row, col).isEqualTo(src[s + row * 21 + col]);
    }
}
