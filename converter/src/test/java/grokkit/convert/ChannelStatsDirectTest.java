package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4NlEncoder;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The q4nl statistics read straight from xAI's [in, out] int8 rows ({@link MatrixView#channelStats})
 * against the transposed-tile pass ({@code readFloats} + {@code addRows}): same encoder, bit for bit.
 */
class ChannelStatsDirectTest {
    private static MatrixView view(int experts, int expert, int in, int out, int blocks, long seed, short badScale) {
        Random r = new Random(seed);
        byte[] w = new byte[experts * in * out];
        r.nextBytes(w);
        byte[] s = new byte[2 * experts * blocks * out];
        for (int k = 0; k < s.length / 2; k++) {
            short bits = (short) (Float.floatToRawIntBits((float) Math.exp(r.nextGaussian()) * 1e-3f) >>> 16);
            if (badScale != 0 && k == s.length / 4) bits = badScale;
            s[2 * k] = (byte) bits;
            s[2 * k + 1] = (byte) (bits >> 8);
        }
        SourceArray wa = new SourceArray(MemorySegment.ofArray(w), SourceArray.Type.INT8, new long[] {experts, in, out}, ByteOrder.LITTLE_ENDIAN);
        SourceArray sa = new SourceArray(MemorySegment.ofArray(s), SourceArray.Type.BF16, new long[] {experts, blocks, out}, ByteOrder.LITTLE_ENDIAN);
        return MatrixView.quantized(new SourceTensor("w", wa, sa), expert);
    }

    @Test
    void directStatisticsGiveTheSameEncoderAsTheTilePass() {
        for (int[] c : new int[][] {{64, 96, 1}, {72, 40, 8}, {35, 17, 1}, {8, 200, 8}}) {
            int in = c[0], out = c[1], blocks = c[2];
            MatrixView v = view(3, 1, in, out, blocks, in * 31L + out, (short) 0);
            assertThat(v.channelStatsDirect()).isTrue();
            float[] x = new float[in * out];
            v.readFloats(0, out, x, new byte[Math.max(in * out, MatrixView.BLOCK * out)], new float[MatrixView.BLOCK * out]);
            Q4NlEncoder.ChannelStats tiles = new Q4NlEncoder.ChannelStats(in).addRows(x, 0, out);
            double[] sumSq = new double[in];
            float[] absMax = new float[in];
            v.channelStats(sumSq, absMax);
            // Independent reference: sums per channel in output order.
            for (int i = 0; i < in; i++) {
                double a = 0;
                float m = 0;
                for (int o = 0; o < out; o++) {
                    a += (double) x[o * in + i] * x[o * in + i];
                    m = Math.max(m, Math.abs(x[o * in + i]));
                }
                assertThat(sumSq[i]).as("in %d channel %d", in, i).isEqualTo(a);
                assertThat(absMax[i]).isEqualTo(m);
            }
            EncodingSpec spec = EncodingSpec.q4nl(32);
            if (in % 32 != 0 && in < 32) continue;
            Q4NlEncoder a = Q4NlEncoder.prepare(spec, tiles, null), b = Q4NlEncoder.prepare(spec, Q4NlEncoder.ChannelStats.ofChannels(sumSq, absMax, out), null);
            assertThat(b.base()).isEqualTo(a.base());
            assertThat(b.channelScales()).containsExactly(a.channelScales());
        }
    }

    @Test
    void nonFiniteScaleIsRejected() {
        MatrixView v = view(1, 0, 64, 32, 1, 3, (short) 0x7f80); // bf16 +inf
        double[] sumSq = new double[64];
        float[] absMax = new float[64];
        v.channelStats(sumSq, absMax);
        assertThatThrownBy(() -> Q4NlEncoder.ChannelStats.ofChannels(sumSq, absMax, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-finite");
    }
}
