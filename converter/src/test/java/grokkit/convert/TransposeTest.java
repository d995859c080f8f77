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
        Transpose.bytes8x8(src, s, 21, dst, d, 17);
        for (int row = 0; row < 8; row++)
            for (int col = 0; col < 8; col++)
                assertThat(dst[d + col * 17 + row]).as("r%d c%d", row, col).isEqualTo(src[s + row * 21 + col]);
    }

    /** The blocked tile transpose against a naive one, on shapes that are not multiples of 8 or of the block. */
    @Test
    void tileTransposeMatchesNaiveOnOddShapes() {
        SplittableRandom r = new SplittableRandom(11);
        int[][] shapes = {{1, 1}, {7, 9}, {8, 8}, {13, 64}, {64, 13}, {65, 127}, {130, 17}, {3, 200}, {200, 3}, {129, 72}};
        for (int[] sh : shapes) {
            int in = sh[0], rows = sh[1];
            long stride = rows + 5 + r.nextInt(9), base = 3 + r.nextInt(5);
            byte[] src = new byte[Math.toIntExact(base + in * stride + 16)];
            for (int i = 0; i < src.length; i++) src[i] = (byte) r.nextInt();
            byte[] dst = new byte[rows * in + 3];
            java.util.Arrays.fill(dst, (byte) 0x5A);
            Transpose.tile(java.lang.foreign.MemorySegment.ofArray(src), base, stride, rows, in, dst);
            for (int t = 0; t < rows; t++)
                for (int i = 0; i < in; i++)
                    assertThat(dst[t * in + i]).as("in %d rows %d: t%d i%d", in, rows, t, i).isEqualTo(src[(int) (base + i * stride + t)]);
            for (int j = rows * in; j < dst.length; j++) assertThat(dst[j]).as("past the tile").isEqualTo((byte) 0x5A);
        }
    }
}
