package grokkit.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RowParallelTest {
    @Test
    void slicesCoverEveryRowOnce() {
        for (int n : new int[] {0, 1, 5, 16, 17, 100, 1000, 32768}) {
            for (int parts = 1; parts <= 5; parts++) {
                int prev = 0;
                for (int p = 0; p <= parts; p++) {
                    int s = RowParallel.sliceStart(n, p, parts);
                    assertThat(s).isBetween(prev, n);
                    prev = s;
                }
                assertThat(RowParallel.sliceStart(n, parts, parts)).isEqualTo(n);
                assertThat(RowParallel.sliceStart(n, 0, parts)).isZero();
            }
        }
    }

    @Test
    void parallelProductsEqualSerialOnes() {
        Random r = new Random(1);
        float[] w = new float[37 * 300];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        DenseMatrix m = new DenseMatrix(37, 300, w);
        float[][] x = new float[5][37];
        for (float[] row : x) for (int i = 0; i < 37; i++) row[i] = (float) r.nextGaussian();
        float[][] serial = new float[5][300], par = new float[5][300];
        for (int t = 0; t < 5; t++) m.matvec(x[t], serial[t], 0, 300);
        try (RowParallel p = new RowParallel(3)) {
            for (int rep = 0; rep < 50; rep++) {
                p.matmul(m, x, par);
                assertThat(par).isDeepEqualTo(serial);
                float[] one = new float[300];
                p.matvec(m, x[2], one);
                assertThat(one).containsExactly(serial[2]);
            }
            AtomicIntegerArray seen = new AtomicIntegerArray(1001);
            p.forRange(1001, (from, to) -> { for (int i = from; i < to; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < 1001; i++) assertThat(seen.get(i)).isEqualTo(1);
        }
    }

    @Test
    void aWorkerFailureReachesTheCaller() {
        try (RowParallel p = new RowParallel(2)) {
            assertThatThrownBy(() -> p.run((part, parts) -> { if (part == 1) throw new IllegalArgumentException("boom"); }))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("boom");
            // still usable afterwards
            AtomicIntegerArray seen = new AtomicIntegerArray(2);
            p.run((part, parts) -> seen.incrementAndGet(part));
            assertThat(seen.get(0) + seen.get(1)).isEqualTo(2);
        }
    }
}
