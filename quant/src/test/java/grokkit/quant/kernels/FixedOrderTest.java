package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bit-exactness of the fixed accumulation order: every kernel's matrix-vector product (whole,
 * and split into arbitrary sub-ranges as threads split it) and its tiled matrix-matrix product
 * (any number of tokens, any token's position in the batch, several lane-state row blocks) give
 * exactly the bits of {@link FixedOrder}, the order written out in scalar Java. Run repeatedly,
 * so the later rounds run C2-compiled code and the first interpreted/C1 code.
 */
class FixedOrderTest {
    @TempDir
    Path dir;
    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    static Stream<Arguments> cases() {
        return Stream.concat(Stream.of(
                Arguments.of(EncodingSpec.f32(), 37, 13),
                Arguments.of(EncodingSpec.f32(), 1100, 9),
                Arguments.of(EncodingSpec.bf16(), 1030, 6),
                Arguments.of(EncodingSpec.int8RowBlock(37, 1), 37, 9),
                Arguments.of(EncodingSpec.int8RowBlock(104, 8), 104, 7),
                Arguments.of(EncodingSpec.int8RowBlock(2100, 1), 2100, 5),
                Arguments.of(EncodingSpec.int8RowBlock(2048, 1), 2048, 45),
                Arguments.of(EncodingSpec.int8RowBlock(1024, 8), 1024, 77),
                Arguments.of(EncodingSpec.int8RowBlock(64, 1), 64, 77),
                Arguments.of(EncodingSpec.q8(32, "f16"), 96, 11),
                Arguments.of(EncodingSpec.q8(32, "f16"), 1024, 70),
                Arguments.of(EncodingSpec.q8(64, "bf16"), 192, 10),
                Arguments.of(EncodingSpec.q8(40, "bf16"), 120, 5),
                Arguments.of(EncodingSpec.q8(7, "f16"), 35, 3),
                Arguments.of(EncodingSpec.q4(32, "bf16"), 2112, 9),
                Arguments.of(EncodingSpec.q4(10, "f16"), 50, 7),
                Arguments.of(EncodingSpec.q4(34, "bf16"), 102, 6),
                Arguments.of(EncodingSpec.q4_0(), 96, 5),
                Arguments.of(EncodingSpec.q4_0(), 40, 3)), Stream.of(
                Arguments.of(EncodingSpec.q4nl(32), 96, 9),
                Arguments.of(EncodingSpec.q4nl(32), 2048, 13),
                Arguments.of(EncodingSpec.q4nl(32), 100, 6),
                Arguments.of(EncodingSpec.q4nl(64), 192, 5),
                Arguments.of(EncodingSpec.q4nl(16), 48, 5)));
    }

    private WeightMatrix open(EncodingSpec spec, int in, int out) throws IOException {
        if (spec.encoding() == grokkit.quant.Encoding.Q4NL) return Q4NlMatrixTest.mapped(dir, spec, in, out, 7L * in + out, arena).m();
        EncodedMatrix m = EncodedMatrix.random(spec, in, out, 31L * in + out);
        return Kernels.open(spec, MemorySegment.ofArray(m.weightBytes()), MemorySegment.ofArray(m.scaleBytes()), in, out);
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void matvecAndMatmulGiveTheFixedOrdersBits(EncodingSpec spec, int in, int out) throws IOException {
        WeightMatrix w = open(spec, in, out);
        assertThat(FixedOrder.covers(w)).isTrue();
        Random rnd = new Random(in * 31L + out);
        int tokens = 11;
        float[][] x = new float[tokens][];
        float[][] ref = new float[tokens][out];
        for (int t = 0; t < tokens; t++) {
            x[t] = EncodedMatrix.randomVector(in, rnd);
            FixedOrder.matvec(w, x[t], ref[t], 0, out);
        }
        for (int round = 0; round < 60; round++) {
            int t = round % tokens;
            float[] y = new float[out];
            w.matvec(x[t], y, 0, out);
            assertBits(y, ref[t], "matvec round " + round);
            // Sub-ranges, as a thread pool's chunks would split the rows.
            int cut = 1 + rnd.nextInt(out);
            float[] z = new float[out];
            w.matvec(x[t], z, 0, cut);
            w.matvec(x[t], z, cut, out);
            assertBits(z, ref[t], "matvec split at " + cut);
            // A batch of n tokens starting at token t0: row j must equal the token's own matvec.
            int n = 2 + rnd.nextInt(tokens - 1), t0 = rnd.nextInt(tokens);
            float[][] xb = new float[n][], yb = new float[n][out];
            for (int j = 0; j < n; j++) xb[j] = x[(t0 + j) % tokens];
            int from = rnd.nextInt(out), to = from + 1 + rnd.nextInt(out - from);
            w.matmul(xb, yb, from, to);
            for (int j = 0; j < n; j++) {
                for (int o = from; o < to; o++) {
                    assertThat(Float.floatToRawIntBits(yb[j][o]))
                            .as("matmul of %d tokens, row %d (token %d), output %d, rows [%d, %d), round %d", n, j, (t0 + j) % tokens, o, from, to, round)
                            .isEqualTo(Float.floatToRawIntBits(ref[(t0 + j) % tokens][o]));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void largeBatchesUseSeveralRowBlocksWithTheSameBits(EncodingSpec spec, int in, int out) throws IOException {
        WeightMatrix w = open(spec, in, out);
        Random rnd = new Random(in);
        int tokens = 16 * SegmentMatrix.STATE_FLOATS / (16 * 4) / Math.max(1, out / 4) + 3; // > 1 block of out rows
        tokens = Math.min(tokens, 2000);
        float[][] x = new float[tokens][], y = new float[tokens][out];
        for (int t = 0; t < tokens; t++) x[t] = EncodedMatrix.randomVector(in, rnd);
        w.matmul(x, y, 0, out);
        for (int t = 0; t < tokens; t += 7) {
            float[] ref = new float[out];
            FixedOrder.matvec(w, x[t], ref, 0, out);
            assertBits(y[t], ref, "token " + t + " of " + tokens);
        }
    }

    /**
     * Token counts whose prefill chunk length (longer for fewer tokens) is not a round number:
     * every chunk must still start on a vector (and group) boundary. Wide rows, so a row takes
     * more than one chunk.
     */
    @ParameterizedTest(name = "{0} in={1} out={2} tokens={3}")
    @MethodSource("chunkCases")
    void tokenCountsThatMakeOddChunkLengthsGiveTheSameBits(EncodingSpec spec, int in, int out, int tokens) throws IOException {
        WeightMatrix w = open(spec, in, out);
        Random rnd = new Random(in * 13L + tokens);
        float[][] x = new float[tokens][], y = new float[tokens][out];
        for (int t = 0; t < tokens; t++) x[t] = EncodedMatrix.randomVector(in, rnd);
        w.matmul(x, y, 0, out);
        for (int t = 0; t < tokens; t++) {
            float[] ref = new float[out];
            FixedOrder.matvec(w, x[t], ref, 0, out);
            assertBits(y[t], ref, "token " + t + " of " + tokens);
        }
    }

    static Stream<Arguments> chunkCases() {
        return Stream.of(17, 21, 33, 47, 69, 70, 130).flatMap(t -> Stream.of(
                Arguments.of(EncodingSpec.f32(), 4100, 9, t),
                Arguments.of(EncodingSpec.bf16(), 3000, 6, t),
                Arguments.of(EncodingSpec.int8RowBlock(4096, 1), 4096, 9, t),
                Arguments.of(EncodingSpec.int8RowBlock(8192, 8), 8192, 5, t),
                Arguments.of(EncodingSpec.q8(32, "f16"), 4096, 5, t),
                Arguments.of(EncodingSpec.q4(32, "bf16"), 4160, 5, t),
                Arguments.of(EncodingSpec.q4nl(32), 4096, 6, t)));
    }

    /** One {@code prepareInputs} shared by several output ranges (as the thread pool's chunks share it) gives the fixed order's bits. */
    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void inputsPreparedOnceServeEveryRange(EncodingSpec spec, int in, int out) throws IOException {
        WeightMatrix w = open(spec, in, out);
        Random rnd = new Random(in * 7L + out);
        int tokens = 5;
        float[][] x = new float[tokens][], y = new float[tokens][out];
        for (int t = 0; t < tokens; t++) x[t] = EncodedMatrix.randomVector(in, rnd);
        WeightMatrix.PreparedInputs p = w.prepareInputs(x);
        for (int from = 0; from < out; ) {
            int to = Math.min(out, from + 1 + rnd.nextInt(4));
            w.matmul(x, p, y, from, to);
            from = to;
        }
        for (int t = 0; t < tokens; t++) {
            float[] ref = new float[out];
            FixedOrder.matvec(w, x[t], ref, 0, out);
            assertBits(y[t], ref, "token " + t + " from shared prepared inputs");
        }
        if (w instanceof SegmentMatrix) {
            float[][] fewer = {x[0], x[1]};
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> w.matmul(fewer, p, new float[2][out], 0, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not prepared");
            WeightMatrix other = open(spec, in, out); // same shape, another matrix: its inputs are not ours
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> w.matmul(x, other.prepareInputs(x), new float[tokens][out], 0, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not prepared");
        }
    }

    private static void assertBits(float[] got, float[] want, String what) {
        for (int o = 0; o < want.length; o++) {
            assertThat(Float.floatToRawIntBits(got[o])).as("%s, output %d: %s vs %s", what, o, got[o], want[o])
                    .isEqualTo(Float.floatToRawIntBits(want[o]));
        }
    }
}
