package grokkit.runtime;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4Nl;
import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.Kernels;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TiledMatmulTest {
    /** A q4nl matrix of random codes, channel scales and group scales. */
    private static WeightMatrix randomQ4Nl(Random r, int in, int out) {
        EncodingSpec spec = EncodingSpec.q4nl(32);
        byte[] w = new byte[(int) spec.weightBytes(in, out)];
        r.nextBytes(w);
        MemorySegment s = MemorySegment.ofArray(new byte[(int) spec.scaleBytes(in, out)]);
        s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 0, 0.01f);
        for (int i = 0; i < in; i++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 4 + 2L * i, Float.floatToFloat16(0.5f + r.nextFloat()));
        long head = Q4Nl.headerBytes(in);
        for (long i = head; i < s.byteSize(); i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (r.nextInt(40) | (r.nextBoolean() ? 0x80 : 0)));
        return Kernels.open(spec, MemorySegment.ofArray(w), s, in, out);
    }

    @Test
    void tiledProductEqualsRowByRowProductsForRaggedTokensRowsAndSlices() {
        Random r = new Random(5);
        // in = 1056: one full 1024-input slice and a ragged one; 7 tokens: one 4-block and 3 single rows.
        for (int in : new int[] {64, 1056}) {
            WeightMatrix w = randomQ4Nl(r, in, 37);
            assertThat(TiledMatmul.wanted(w)).isTrue();
            float[][] x = new float[7][in];
            for (float[] row : x) for (int i = 0; i < in; i++) row[i] = (float) r.nextGaussian();
            float[][] got = new float[7][37], want = new float[7][37];
            for (float[] row : got) java.util.Arrays.fill(row, Float.NaN);
            TiledMatmul.matmul(w, x, got, 3, 37); // a range that starts mid-matrix and ends on a partial block
            float[] col = new float[in];
            for (int o = 3; o < 37; o++) {
                w.dequantizeColumn(o, col);
                for (int t = 0; t < 7; t++) {
                    double d = 0;
                    for (int i = 0; i < in; i++) d += (double) x[t][i] * col[i];
                    want[t][o] = (float) d;
                }
            }
            for (int t = 0; t < 7; t++) {
                for (int o = 0; o < 3; o++) assertThat(got[t][o]).isNaN();
                for (int o = 3; o < 37; o++) assertThat(got[t][o]).as("in=%d t=%d o=%d", in, t, o).isCloseTo(want[t][o], within(1e-3f));
            }
        }
    }
}
