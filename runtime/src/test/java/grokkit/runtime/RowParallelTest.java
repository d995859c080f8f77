package grokkit.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RowParallelTest {
    private static DenseMatrix random(Random r, int in, int out) {
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        return new DenseMatrix(in, out, w);
    }

    @Test
    void groupedProductsEqualSerialOnesForUnalignedShapes() {
        Random r = new Random(1);
        // 300 and 37 outputs are not multiples of the pool's 16-row alignment.
        DenseMatrix a = random(r, 37, 300), b = random(r, 37, 37), c = random(r, 37, 5);
        float[][] x = new float[5][37];
        for (float[] row : x) for (int i = 0; i < 37; i++) row[i] = (float) r.nextGaussian();
        DenseMatrix[] ms = {a, b, c};
        float[][][] serial = new float[3][][];
        for (int m = 0; m < 3; m++) {
            serial[m] = new float[5][ms[m].outDim()];
            for (int t = 0; t < 5; t++) ms[m].matvec(x[t], serial[m][t], 0, ms[m].outDim());
        }
        try (RowParallel p = new RowParallel(3)) {
            for (int rep = 0; rep < 20; rep++) {
                float[][][] got = new float[3][][];
                for (int m = 0; m < 3; m++) got[m] = new float[5][ms[m].outDim()];
                p.matmuls(ms, new float[][][] {x, x, x}, got);
                for (int m = 0; m < 3; m++) assertThat(got[m]).isDeepEqualTo(serial[m]);
                float[][] one = new float[1][300];
                p.matmul(a, new float[][] {x[2]}, one);
                assertThat(one[0]).containsExactly(serial[0][2]);
            }
            AtomicIntegerArray seen = new AtomicIntegerArray(1001);
            p.forRange(1001, (from, to) -> { for (int i = from; i < to; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < 1001; i++) assertThat(seen.get(i)).isEqualTo(1);
        }
    }

    @Test
    void aWorkerFailureReachesTheCaller() {
        try (RowParallel p = new RowParallel(2)) {
            assertThatThrownBy(() -> p.forRange(4096, (from, to) -> { if (from > 0) throw new IllegalArgumentException("boom"); }))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("boom");
            AtomicIntegerArray seen = new AtomicIntegerArray(64);
            p.forRange(64, (from, to) -> { for (int i = from; i < to; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < 64; i++) assertThat(seen.get(i)).isEqualTo(1);
        }
    }
}
