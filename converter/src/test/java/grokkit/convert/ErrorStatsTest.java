package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4NlEncoder;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The fast error-statistics paths against the generic one (bit for bit), and the lane sums against exact sums. */
class ErrorStatsTest {
    @Test
    void q4nlFastPathIsBitIdenticalToTheDequantizerPath() {
        Random r = new Random(7);
        for (int in : new int[] {64, 96, 344, 1000}) { // 344, 1000: ragged last group
            int rows = 5;
            float[] x = new float[rows * in];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (i % 37 == 0 ? 0.2 : 0.02));
            EncodingSpec spec = EncodingSpec.q4nl(32);
            Q4NlEncoder enc = Q4NlEncoder.prepare(spec, x, in, rows, null);
            byte[][] ws = enc.encodeMatrix(x, rows);
            double[] fast = ErrorStats.of(enc, x, rows, ws[0], ws[1], enc.headerBytes());
            double[] ref = ErrorStats.generic(spec, x, rows, in, ws[0], ws[1]);
            assertThat(fast).as("in %d", in).containsExactly(ref);
            assertThat(fast[1]).isGreaterThan(0).isLessThan(fast[0]);
        }
    }

    /** Every encoder's decoder (the error statistics' w') against the Dequantizer path, bit for bit. */
    @Test
    void everyEncodersDecodeIsBitIdenticalToTheDequantizerPath() {
        Random r = new Random(9);
        for (EncodingSpec spec : new EncodingSpec[] {EncodingSpec.f32(), EncodingSpec.bf16(), EncodingSpec.q8(32, "f16"),
                EncodingSpec.q8(64, "bf16"), EncodingSpec.q4(32, "f16"), EncodingSpec.q4(64, "bf16"), EncodingSpec.q4_0(), EncodingSpec.q4nl(32)}) {
            for (int in : new int[] {64, 128, 344}) {
                if (!spec.encoding().allowsRaggedGroups() && spec.groupSize() > 0 && in % spec.groupSize() != 0) continue;
                int rows = 6;
                float[] x = new float[rows * in];
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (i % 29 == 0 ? 0.3 : 0.03));
                float[] copy = x.clone();
                grokkit.quant.MatrixEncoder enc = spec.encoding().encoder(spec, in,
                        () -> new Q4NlEncoder.ChannelStats(in).addRows(copy, 0, rows), null);
                byte[] w = new byte[(int) spec.weightBytes(in, rows)], s = new byte[(int) spec.scaleBytes(in, rows)];
                enc.writeHeader(s, 0);
                enc.encodeRows(x, 0, rows, w, 0, s, enc.headerBytes());
                double[] fast = ErrorStats.of(enc, x, rows, w, s, enc.headerBytes());
                double[] ref = ErrorStats.generic(spec, x, rows, in, w, s);
                assertThat(fast).as("%s in %d", spec, in).containsExactly(ref);
                if (spec.encoding().fidelity() != grokkit.quant.Encoding.Fidelity.LOSSLESS)
                    assertThat(fast[1]).as("%s in %d is lossy", spec, in).isGreaterThan(0);
            }
        }
    }

    /** The vector and scalar paths of the lane sums give the same bits, ragged rows included. */
    @Test
    void laneSumsVectorAndScalarPathsAreBitIdentical() {
        Random r = new Random(11);
        for (int in : new int[] {8, 61, 1024, 1003}) {
            int rows = 70;
            float[] x = new float[rows * in], y = new float[in];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.exp(3 * r.nextGaussian()));
            ErrorStats.Sums vec = new ErrorStats.Sums(true), sca = new ErrorStats.Sums(false);
            for (int t = 0; t < rows; t++) {
                for (int i = 0; i < in; i++) y[i] = x[t * in + i] + (float) (r.nextGaussian() * 1e-2);
                vec.add(x, t * in, y, in);
                sca.add(x, t * in, y, in);
            }
            assertThat(vec.result()).as("in %d", in).containsExactly(sca.result());
        }
    }

    /** The lane sums are the exact sums to float64 accuracy (an independent BigDecimal computation). */
    @Test
    void laneSumsMatchExactSums() {
        Random r = new Random(5);
        int rows = 40, in = 999;
        float[] x = new float[rows * in], y = new float[rows * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * Math.exp(2 * r.nextGaussian()));
            y[i] = x[i] + (float) (r.nextGaussian() * 1e-3 * Math.abs(x[i]));
        }
        ErrorStats.Sums sums = new ErrorStats.Sums(true);
        BigDecimal s = BigDecimal.ZERO, e = BigDecimal.ZERO;
        for (int t = 0; t < rows; t++) {
            sums.add(x, t * in, java.util.Arrays.copyOfRange(y, t * in, t * in + in), in);
            for (int i = t * in; i < t * in + in; i++) {
                BigDecimal a = new BigDecimal(x[i]), d = new BigDecimal(y[i]).subtract(a);
                s = s.add(a.multiply(a));
                e = e.add(d.multiply(d));
            }
        }
        double[] got = sums.result();
        assertThat(got[0]).isCloseTo(s.round(MathContext.DECIMAL64).doubleValue(), org.assertj.core.data.Percentage.withPercentage(1e-11));
        assertThat(got[1]).isCloseTo(e.round(MathContext.DECIMAL64).doubleValue(), org.assertj.core.data.Percentage.withPercentage(1e-11));
        assertThat(got[1]).isGreaterThan(0);
    }
}
