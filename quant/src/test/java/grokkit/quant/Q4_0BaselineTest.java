package grokkit.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;

/** llama.cpp's Q4_0 block math, checked against blocks computed by hand (values exact in binary). */
class Q4_0BaselineTest {
    static final EncodingSpec Q40 = EncodingSpec.q4_0();

    static float scale(byte[] s, int k) {
        return Float.float16ToFloat((short) ((s[2 * k] & 0xff) | (s[2 * k + 1] << 8)));
    }

    @Test
    void negativeMaxGivesPositiveScaleAndRoundsHalfUp() {
        float[] x = new float[32];
        x[0] = -8f;    // the signed max: d = -8 / -8 = +1, code 0 (q = -8)
        x[1] = 2.5f;   // 2.5 + 8.5 = 11.0 → 11 (q = +3: half rounds up, not to even)
        x[2] = -2.5f;  // 6.0 → 6 (q = -2: half rounds toward +inf)
        x[3] = 0.49f;  // 8.99 → 8 (q = 0)
        x[4] = 0.5f;   // 9.0 → 9 (q = 1)
        x[16] = 7.6f;  // 16.1 → 16 → clamped to 15 (q = 7), high nibble of byte 0
        x[31] = -7.9f; // 0.6 → 0 (q = -8), high nibble of byte 15
        byte[] w = new byte[16], s = new byte[2];
        RowEncoder.of(Q40).encodeRow(x, 0, 32, w, 0, s, 0);
        assertThat(scale(s, 0)).isEqualTo(1f);
        assertThat(w[0] & 0xff).isEqualTo(0 | (15 << 4));
        assertThat(w[1] & 0xff).isEqualTo(11 | (8 << 4));
        assertThat(w[2] & 0xff).isEqualTo(6 | (8 << 4));
        assertThat(w[3] & 0xff).isEqualTo(8 | (8 << 4));
        assertThat(w[4] & 0xff).isEqualTo(9 | (8 << 4));
        assertThat(w[15] & 0xff).isEqualTo(8 | (0 << 4));
        float[] d = new float[32];
        Dequantizer.row(Q40, MemorySegment.ofArray(w), MemorySegment.ofArray(s), 32, 0, d);
        assertThat(d[0]).isEqualTo(-8f);
        assertThat(d[1]).isEqualTo(3f);
        assertThat(d[2]).isEqualTo(-2f);
        assertThat(d[4]).isEqualTo(1f);
        assertThat(d[16]).isEqualTo(7f);
        assertThat(d[31]).isEqualTo(-8f);
    }

    @Test
    void positiveMaxGivesNegativeScaleSoItReachesMinusEightSteps() {
        float[] x = new float[32];
        x[5] = 4f;      // max +4: d = 4 / -8 = -0.5, id = -2: 4·-2 + 8.5 = 0.5 → 0 → (0-8)·-0.5 = 4 exactly
        x[6] = -3.5f;   // 7 + 8.5 = 15.5 → 15 → 7·-0.5 = -3.5
        x[7] = 1.25f;   // -2.5 + 8.5 = 6 → (6-8)·-0.5 = 1.0
        x[21] = -4f;    // 8 + 8.5 = 16.5 → 16 → clamped 15 → -3.5 (the only clipped value)
        byte[] w = new byte[16], s = new byte[2];
        RowEncoder.of(Q40).encodeRow(x, 0, 32, w, 0, s, 0);
        assertThat(scale(s, 0)).isEqualTo(-0.5f);
        assertThat(w[5] & 0xff).isEqualTo(0 | (15 << 4)); // byte 5: input 5 low, input 21 high
        assertThat(w[6] & 15).isEqualTo(15);
        assertThat(w[7] & 15).isEqualTo(6);
        float[] d = new float[32];
        Dequantizer.row(Q40, MemorySegment.ofArray(w), MemorySegment.ofArray(s), 32, 0, d);
        assertThat(new float[] {d[5], d[6], d[7], d[21]}).containsExactly(4f, -3.5f, 1f, -3.5f);
        assertThat(d[0] == 0f).as("zero stays zero (as -0.0: code 8 times a negative scale)").isTrue();
    }

    @Test
    void raggedLastBlockIsZeroPadded() {
        // in = 40: one full block and one of 8 inputs, quantized as if padded with 24 zeros.
        int in = 40;
        assertThat(Q40.weightBytes(in, 3)).isEqualTo(3 * 2 * 16L);
        assertThat(Q40.scaleBytes(in, 3)).isEqualTo(3 * 2 * 2L);
        float[] x = new float[in];
        for (int i = 0; i < in; i++) x[i] = (i % 7) - 3;
        x[33] = -8f; // the second block's max: d = 1
        byte[] w = new byte[32], s = new byte[4];
        RowEncoder.of(Q40).encodeRow(x, 0, in, w, 0, s, 0);
        assertThat(scale(s, 1)).isEqualTo(1f);
        for (int j = 8; j < 16; j++) assertThat(w[16 + j] & 0xff).as("padding byte %d", j).isEqualTo(8 | (8 << 4));
        float[] d = new float[in + 1];
        d[in] = 42f;
        Dequantizer.row(Q40, MemorySegment.ofArray(w), MemorySegment.ofArray(s), in, 0, d);
        for (int i = 32; i < in; i++) assertThat(d[i]).as("input %d", i).isEqualTo(x[i]); // integers on a unit grid: exact
        assertThat(d[in]).isEqualTo(42f);
    }
}
