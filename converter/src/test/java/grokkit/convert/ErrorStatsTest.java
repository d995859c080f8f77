package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4NlEncoder;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The fast error-statistics paths against the generic one (the report must not change by a bit). */
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
            double[] fast = ErrorStats.of(spec, x, rows, in, ws[0], ws[1]);
            double[] ref = ErrorStats.generic(spec, x, rows, in, ws[0], ws[1]);
            assertThat(fast).as("in %d", in).containsExactly(ref);
            assertThat(fast[1]).isGreaterThan(0).isLessThan(fast[0]);
        }
    }
}
