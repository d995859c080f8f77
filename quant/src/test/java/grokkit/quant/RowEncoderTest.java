package grokkit.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class RowEncoderTest {
    /** Heavy-tailed weights like the checkpoint's: mostly Gaussian, a few large outliers. */
    static float[] weights(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian() * 0.02;
            if (r.nextDouble() < 0.01) g *= 6;
            x[i] = (float) g;
        }
        return x;
    }

    static float[] roundTrip(EncodingSpec spec, RowEncoder enc, float[] x, int in, int out) {
        byte[] w = new byte[(int) spec.weightBytes(in, out)];
        byte[] s = new byte[(int) spec.scaleBytes(in, out)];
        enc.encodeRows(x, 0, out, in, w, 0, s, 0);
        return Dequantizer.all(spec, MemorySegment.ofArray(w), MemorySegment.ofArray(s), in, out);
    }

    static double sqErr(float[] a, float[] b) {
        double e = 0;
        for (int i = 0; i < a.length; i++) e += (double) (a[i] - b[i]) * (a[i] - b[i]);
        return e;
    }

    @Test
    void f32IsExactAndBf16IsRoundedToNearest() {
        float[] x = weights(256, 1);
        assertThat(roundTrip(EncodingSpec.f32(), RowEncoder.of(EncodingSpec.f32()), x, 64, 4)).containsExactly(x);
        float[] b = roundTrip(EncodingSpec.bf16(), RowEncoder.of(EncodingSpec.bf16()), x, 64, 4);
        for (int i = 0; i < x.length; i++) assertThat(b[i]).isEqualTo(Halfs.bf16ToFloat(Halfs.floatToBf16(x[i])));
    }

    @Test
    void q8ErrorIsBoundedByHalfAStep() {
        EncodingSpec spec = EncodingSpec.q8(32, "f16");
        float[] x = weights(128 * 8, 2);
        float[] y = roundTrip(spec, RowEncoder.of(spec), x, 128, 8);
        for (int g = 0; g < x.length / 32; g++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[g * 32 + j]));
            for (int j = 0; j < 32; j++) assertThat(y[g * 32 + j]).isCloseTo(x[g * 32 + j], within(amax / 127 * 0.51f + 1e-7f));
        }
    }

    @Test
    void q4NibbleOrderMatchesTheSpec() {
        // One group of 32: input j → low nibble of byte j, input j+16 → high nibble.
        EncodingSpec spec = EncodingSpec.q4(32, "bf16");
        float[] x = new float[32];
        for (int j = 0; j < 15; j++) x[j] = j - 7; // levels -7..7: absmax 7 → scale exactly 1
        x[16] = 5;
        x[31] = -2;
        byte[] w = new byte[16], s = new byte[2];
        RowEncoder.of(spec, Q4Encoder.ScaleChoice.ABSMAX).encodeRow(x, 0, 32, w, 0, s, 0);
        assertThat(Halfs.bf16ToFloat(LittleEndian.getShort(s, 0))).isEqualTo(1f);
        assertThat(w[0] & 15).isEqualTo(-7 + 8);
        assertThat((w[0] >> 4) & 15).isEqualTo(5 + 8);
        assertThat(w[3] & 15).isEqualTo(-4 + 8);
        assertThat((w[15] >> 4) & 15).isEqualTo(-2 + 8);
        assertThat(w[15] & 15).isEqualTo(8);
    }

    @Test
    void q4SearchIsNeverWorseThanAbsmaxBeyondScaleRoundingAndBetterOverall() {
        for (String st : new String[] {"f16", "bf16"}) {
            for (int g : new int[] {32, 64, 128}) {
                EncodingSpec spec = EncodingSpec.q4(g, st);
                float[] x = weights(512 * 16, g);
                float[] a = roundTrip(spec, RowEncoder.of(spec, Q4Encoder.ScaleChoice.ABSMAX), x, 512, 16);
                float[] b = roundTrip(spec, RowEncoder.of(spec, Q4Encoder.ScaleChoice.SEARCH), x, 512, 16);
                // group by group: absmax/7's levels are a candidate, and s* is optimal for them
                for (int k = 0; k < x.length / g; k++) {
                    double ea = 0, eb = 0;
                    for (int j = k * g; j < (k + 1) * g; j++) {
                        ea += (double) (a[j] - x[j]) * (a[j] - x[j]);
                        eb += (double) (b[j] - x[j]) * (b[j] - x[j]);
                    }
                    assertThat(eb).as("group %d, G=%d %s", k, g, st).isLessThanOrEqualTo(ea * (st.equals("f16") ? 1.001 : 1.01) + 1e-12);
                }
                assertThat(sqErr(b, x)).as("G=%d %s", g, st).isLessThan(0.9 * sqErr(a, x));
            }
        }
    }

    @Test
    void q4LaneSearchEqualsTheScalarReference() {
        for (int g : new int[] {32, 64, 128}) {
            int lanes = Q4Encoder.LANES_WIDE;
            float[] x = weights(lanes * g * 20, 100 + g);
            for (int j = 0; j < g; j++) x[3 * g + j] = 0; // an all-zero group in lane 3
            float[] tmp = new float[lanes * g], scales = new float[lanes];
            for (int b = 0; b < 20; b++) {
                for (String st : new String[] {"f16", "bf16"}) {
                    Q4Encoder.searchLanes(x, b * lanes * g, g, st, tmp, scales, 0);
                    for (int lane = 0; lane < lanes; lane++)
                        assertThat(scales[lane]).as("G=%d batch %d lane %d %s", g, b, lane, st)
                                .isEqualTo(Q4Encoder.searchScale(x, (b * lanes + lane) * g, g, st));
                }
            }
        }
    }

    @Test
    void q4SearchIsDeterministicAndHandlesZeroGroups() {
        EncodingSpec spec = EncodingSpec.q4(32, "f16");
        float[] x = weights(64 * 4, 9);
        for (int j = 0; j < 32; j++) x[j] = 0;
        float[] a = roundTrip(spec, RowEncoder.of(spec), x, 64, 4);
        float[] b = roundTrip(spec, RowEncoder.of(spec), x.clone(), 64, 4);
        assertThat(a).containsExactly(b);
        for (int j = 0; j < 32; j++) assertThat(a[j]).isZero();
    }

    @Test
    void q4_0FollowsLlamaCppBlockMath() {
        // Signed max -0.8 → d = -0.8 / -8 = 0.1; x = 0.35 → 0.35/0.1 + 8.5 = 12.0 → 12 → (12-8)·0.1
        EncodingSpec spec = EncodingSpec.q4_0();
        float[] x = new float[32];
        x[0] = -0.8f;
        x[1] = 0.35f;
        x[17] = 0.8f; // +max maps to 16.5 → clamped to 15 → 0.7
        byte[] w = new byte[16], s = new byte[2];
        RowEncoder.of(spec).encodeRow(x, 0, 32, w, 0, s, 0);
        float d = Halfs.f16ToFloat(LittleEndian.getShort(s, 0));
        assertThat(d).isEqualTo(Halfs.f16ToFloat(Halfs.floatToF16(0.1f)));
        assertThat(w[0] & 15).isEqualTo(0);
        float id = 1f / (-0.8f / -8f);
        assertThat(w[1] & 15).isEqualTo((int) (0.35f * id + 8.5f));
        assertThat((w[1] >> 4) & 15).isEqualTo(15);
        assertThat(w[2] & 0xff).isEqualTo(8 | (8 << 4));
    }

    @Test
    void scalarMatrixMatvecMatchesDequantizedProduct() {
        EncodingSpec spec = EncodingSpec.q4(32, "f16");
        int in = 64, out = 5;
        float[] x = weights(in * out, 4);
        byte[] w = new byte[(int) spec.weightBytes(in, out)], s = new byte[(int) spec.scaleBytes(in, out)];
        RowEncoder.of(spec).encodeRows(x, 0, out, in, w, 0, s, 0);
        WeightMatrix m = ScalarMatrices.open(spec, MemorySegment.ofArray(w), MemorySegment.ofArray(s), in, out);
        float[] v = weights(in, 5), y = new float[out], col = new float[in];
        m.matvec(v, y, 0, out);
        for (int o = 0; o < out; o++) {
            m.dequantizeColumn(o, col);
            double acc = 0;
            for (int i = 0; i < in; i++) acc += (double) v[i] * col[i];
            assertThat((double) y[o]).isCloseTo(acc, within(1e-5));
        }
    }
}
