package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParallelMatmulTest {

    /**
     * Every output of a pooled product matches the float64 reference. (Not compared bit for bit
     * with a single-threaded run: the Vector API may sum a vector's lanes in a different order
     * in the interpreter and in compiled code, so bits can differ between JIT tiers.)
     */
    @Test
    void parallelMatvecAndMatmulComputeEveryOutput() {
        int in = 96, out = 1003;
        EncodedMatrix m = EncodedMatrix.random(EncodingSpec.q4(32, "bf16"), in, out, 42);
        WeightMatrix w = Kernels.open(m.spec(), MemorySegment.ofArray(m.weightBytes()), MemorySegment.ofArray(m.scaleBytes()), in, out);
        float[] x = EncodedMatrix.randomVector(in, new Random(1));
        float[][] xs = {x, EncodedMatrix.randomVector(in, new Random(2)), EncodedMatrix.randomVector(in, new Random(3))};
        double[] ref = new double[out], tol = new double[out];
        for (int o = 0; o < out; o++) {
            ref[o] = m.ref(x, o);
            tol[o] = 1e-5 * m.magnitude(x, o) + 1e-30;
        }
        for (int threads : new int[]{1, 2, 3, 5}) {
            try (ParallelMatmul pool = new ParallelMatmul(threads)) {
                assertThat(pool.threads()).isEqualTo(threads);
                for (int rep = 0; rep < 10; rep++) { // repeated: exercises worker hand-off between jobs
                    float[] y = new float[out];
                    java.util.Arrays.fill(y, Float.NaN);
                    pool.matvec(w, x, y);
                    for (int o = 0; o < out; o++) {
                        if (!(Math.abs(y[o] - ref[o]) <= tol[o])) assertClose(m, x, o, y[o]);
                    }
                }
                float[][] y = new float[3][out];
                pool.matmul(w, xs, y);
                for (int t = 0; t < 3; t++) for (int o = 0; o < out; o++) assertClose(m, xs[t], o, y[t][o]);
            }
        }
    }

    private static void assertClose(EncodedMatrix m, float[] x, int o, float actual) {
        assertThat((double) actual).as("output %d", o)
                .isCloseTo(m.ref(x, o), org.assertj.core.data.Offset.offset(1e-5 * m.magnitude(x, o) + 1e-30));
    }

    @Test
    void chunksAreCacheLineAlignedAndCoverTheRangeOnce() {
        try (ParallelMatmul pool = new ParallelMatmul(3)) {
            ConcurrentLinkedQueue<int[]> seen = new ConcurrentLinkedQueue<>();
            pool.forRange(1000, (from, to) -> seen.add(new int[]{from, to}));
            int[] covered = new int[1000];
            for (int[] r : seen) {
                assertThat(r[0] % ParallelMatmul.ALIGN).isZero();
                for (int i = r[0]; i < r[1]; i++) covered[i]++;
            }
            assertThat(covered).containsOnly(1);
            assertThat(seen.size()).isGreaterThan(3);
        }
    }

    @Test
    void aTaskFailureReachesTheCallerAndThePoolStaysUsable() {
        try (ParallelMatmul pool = new ParallelMatmul(2)) {
            assertThatThrownBy(() -> pool.forRange(4096, (from, to) -> {
                if (from > 0) throw new IllegalStateException("boom at " + from);
            })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("boom at");
            int[] sum = new int[1];
            pool.forRange(64, (from, to) -> { synchronized (sum) { sum[0] += to - from; } });
            assertThat(sum[0]).isEqualTo(64);
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (ParallelMatmul pool = new ParallelMatmul(2)) {
            int[] total = new int[1];
            pool.forRange(4096, (from, to) -> pool.forRange(to - from, (a, b) -> { synchronized (total) { total[0] += b - a; } }));
            assertThat(total[0]).isEqualTo(4096);
        }
    }

    @Test
    void guidedChunksShrinkAreGrainAlignedAndCoverTheRangeOnce() {
        for (int n : new int[] {1, 15, 16, 17, 1000, 2048, 32768}) {
            for (int grain : new int[] {1, 16}) {
                int[] b = ParallelMatmul.guidedBounds(n, grain, 2);
                assertThat(b[0]).isZero();
                assertThat(b[b.length - 1]).isEqualTo(n);
                for (int c = 1; c < b.length; c++) {
                    assertThat(b[c]).as("n=%d grain=%d", n, grain).isGreaterThan(b[c - 1]);
                    if (c < b.length - 1) assertThat(b[c] % grain).isZero();
                    if (c < b.length - 1) assertThat(b[c + 1] - b[c]).isLessThanOrEqualTo(b[c] - b[c - 1]);
                }
            }
        }
        assertThat(ParallelMatmul.guidedBounds(2048, 16, 2)).startsWith(0, 512, 896).hasSizeGreaterThan(8);
        try (ParallelMatmul pool = new ParallelMatmul(3, 1_000_000)) {
            for (int rep = 0; rep < 50; rep++) {
                ConcurrentLinkedQueue<int[]> seen = new ConcurrentLinkedQueue<>();
                pool.forRange(999, 1, (from, to) -> seen.add(new int[]{from, to}));
                int[] covered = new int[999];
                for (int[] r : seen) for (int i = r[0]; i < r[1]; i++) covered[i]++;
                assertThat(covered).containsOnly(1);
            }
        }
    }

    @Test
    void rejectsZeroThreads() {
        assertThatThrownBy(() -> new ParallelMatmul(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
