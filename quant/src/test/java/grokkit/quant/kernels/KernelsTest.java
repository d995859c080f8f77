package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every kernel against a float64 reference computed from the weights its bytes mean
 * ({@link EncodedMatrix}), over memory-mapped files, on shapes chosen to hit every tail:
 * input lengths that are not multiples of the vector length or of the 4-row block, groups
 * with scalar tails, out = 1, sub-ranges, T = 1..9, prefill chunks that end mid-way.
 */
class KernelsTest {
    /** Relative to Σ|x·w|, the scale of float32 rounding in a dot product. */
    private static final double TOLERANCE = 1e-5;

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
        return Stream.of(
                Arguments.of(EncodingSpec.f32(), 37, 13),
                Arguments.of(EncodingSpec.f32(), 1100, 9),
                Arguments.of(EncodingSpec.f32(), 64, 1),
                Arguments.of(EncodingSpec.bf16(), 37, 13),
                Arguments.of(EncodingSpec.bf16(), 1030, 6),
                Arguments.of(EncodingSpec.int8RowBlock(37, 1), 37, 9),
                Arguments.of(EncodingSpec.int8RowBlock(104, 8), 104, 7),
                Arguments.of(EncodingSpec.int8RowBlock(1536, 8), 1536, 11),
                Arguments.of(EncodingSpec.int8RowBlock(2100, 1), 2100, 5),
                Arguments.of(EncodingSpec.int8RowBlock(96, 1), 96, 1),
                // short rows, enough of them for the page-strided row blocks (stride 2 and 4) and their tails
                Arguments.of(EncodingSpec.int8RowBlock(2048, 1), 2048, 45),
                Arguments.of(EncodingSpec.int8RowBlock(1024, 8), 1024, 77),
                Arguments.of(EncodingSpec.q8(32, "f16"), 96, 11),
                Arguments.of(EncodingSpec.q8(32, "f16"), 1024, 70),
                Arguments.of(EncodingSpec.q8(32, "bf16"), 2048, 37),
                Arguments.of(EncodingSpec.q8(64, "bf16"), 192, 10),
                Arguments.of(EncodingSpec.q8(128, "f16"), 1152, 6),
                Arguments.of(EncodingSpec.q8(40, "bf16"), 120, 5),
                Arguments.of(EncodingSpec.q8(7, "f16"), 35, 3),
                Arguments.of(EncodingSpec.q4(32, "bf16"), 2112, 9),
                Arguments.of(EncodingSpec.q4(64, "f16"), 192, 10),
                Arguments.of(EncodingSpec.q4(128, "bf16"), 384, 5),
                Arguments.of(EncodingSpec.q4(10, "f16"), 50, 7),
                Arguments.of(EncodingSpec.q4(34, "bf16"), 102, 6),
                Arguments.of(EncodingSpec.q4(2, "bf16"), 6, 5),
                Arguments.of(EncodingSpec.q4_0(), 96, 5),
                Arguments.of(EncodingSpec.q4_0(), 32, 1));
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void matvecMatchesFloat64ReferenceOverAMappedFile(EncodingSpec spec, int in, int out) throws IOException {
        EncodedMatrix m = EncodedMatrix.random(spec, in, out, 31L * in + out);
        WeightMatrix k = open(m, 64, 64);
        assertThat(k.inDim()).isEqualTo(in);
        assertThat(k.outDim()).isEqualTo(out);
        assertThat(k.encoding()).isEqualTo(spec.name());
        assertThat(k.byteSize()).isEqualTo(spec.weightBytes(in, out) + spec.scaleBytes(in, out));
        Random rnd = new Random(in);
        float[] x = EncodedMatrix.randomVector(in, rnd);
        float[] y = new float[out];
        k.matvec(x, y, 0, out);
        for (int o = 0; o < out; o++) assertClose(m, x, o, y[o]);
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void matvecSubRangesWriteOnlyTheirOutputs(EncodingSpec spec, int in, int out) throws IOException {
        EncodedMatrix m = EncodedMatrix.random(spec, in, out, 7L * in + out);
        WeightMatrix k = open(m, 64, 64);
        float[] x = EncodedMatrix.randomVector(in, new Random(out));
        for (int[] r : new int[][]{{0, 1}, {out - 1, out}, {out / 3, out - out / 4}, {1, Math.min(out, 6)}, {out / 2, out / 2}}) {
            int from = Math.min(r[0], r[1]), to = r[1];
            float[] y = new float[out];
            Arrays.fill(y, Float.NaN);
            k.matvec(x, y, from, to);
            for (int o = 0; o < out; o++) {
                if (o >= from && o < to) assertClose(m, x, o, y[o]);
                else assertThat(y[o]).as("output %d outside [%d, %d) must be untouched", o, from, to).isNaN();
            }
        }
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void matmulMatchesReferenceForOneToNineTokensAndSubRanges(EncodingSpec spec, int in, int out) throws IOException {
        EncodedMatrix m = EncodedMatrix.random(spec, in, out, 11L * in + out);
        WeightMatrix k = open(m, 64, 64);
        Random rnd = new Random(5);
        for (int tokens = 1; tokens <= 9; tokens++) {
            float[][] x = new float[tokens][];
            float[][] y = new float[tokens][out];
            for (int t = 0; t < tokens; t++) {
                x[t] = EncodedMatrix.randomVector(in, rnd);
                Arrays.fill(y[t], Float.NaN);
            }
            int from = tokens % 3 == 0 ? Math.min(1, out - 1) : 0;
            int to = tokens % 2 == 0 ? Math.max(from + 1, out - 1) : out;
            k.matmul(x, y, from, to);
            for (int t = 0; t < tokens; t++) {
                for (int o = 0; o < out; o++) {
                    if (o >= from && o < to) assertClose(m, x[t], o, y[t][o]);
                    else assertThat(y[t][o]).as("T=%d t=%d output %d outside [%d,%d)", tokens, t, o, from, to).isNaN();
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void dequantizeColumnIsExact(EncodingSpec spec, int in, int out) throws IOException {
        EncodedMatrix m = EncodedMatrix.random(spec, in, out, 3L * in + out);
        WeightMatrix k = open(m, 64, 64);
        float[] dst = new float[in];
        for (int o = 0; o < out; o++) {
            k.dequantizeColumn(o, dst);
            for (int i = 0; i < in; i++) {
                // q·s of an 8-bit integer and a 16-bit float is exact in float64 and rounds once to float32.
                assertThat(dst[i]).as("w[%d][%d]", o, i).isEqualTo((float) m.w()[o][i]);
            }
        }
    }

    @ParameterizedTest(name = "{0} in={1} out={2}")
    @MethodSource("cases")
    void unalignedRegionsWorkToo(EncodingSpec spec, int in, int out) throws IOException {
        EncodedMatrix m = EncodedMatrix.random(spec, in, out, 13L * in + out);
        WeightMatrix aligned = open(m, 64, 64);
        WeightMatrix unaligned = open(m, 64 + 3, 5);
        float[] x = EncodedMatrix.randomVector(in, new Random(2));
        for (WeightMatrix k : new WeightMatrix[]{aligned, unaligned}) {
            float[] y = new float[out];
            k.matvec(x, y, 0, out);
            for (int o = 0; o < out; o++) assertClose(m, x, o, y[o]);
            float[][] xs = {x, EncodedMatrix.randomVector(in, new Random(3))};
            float[][] z = new float[2][out];
            k.matmul(xs, z, 0, out);
            for (int t = 0; t < 2; t++) for (int o = 0; o < out; o++) assertClose(m, xs[t], o, z[t][o]);
            float[] col = new float[in];
            k.dequantizeColumn(out - 1, col);
            for (int i = 0; i < in; i++) assertThat(col[i]).isEqualTo((float) m.w()[out - 1][i]);
        }
    }

    @Test
    void heapSegmentsWorkToo() {
        EncodedMatrix m = EncodedMatrix.random(EncodingSpec.q8(32, "bf16"), 64, 5, 1);
        WeightMatrix k = Kernels.open(m.spec(), MemorySegment.ofArray(m.weightBytes()), MemorySegment.ofArray(m.scaleBytes()), 64, 5);
        float[] x = EncodedMatrix.randomVector(64, new Random(1));
        float[] y = new float[5];
        k.matvec(x, y, 0, 5);
        for (int o = 0; o < 5; o++) assertClose(m, x, o, y[o]);
    }

    @Test
    void rejectsRegionsTooSmallAndBadSpecs() {
        MemorySegment small = MemorySegment.ofArray(new byte[10]);
        assertThatThrownBy(() -> Kernels.open(EncodingSpec.f32(), small, MemorySegment.NULL, 3, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights region has 10 bytes, needs 12");
        assertThatThrownBy(() -> Kernels.open(EncodingSpec.q8(32, "f16"), MemorySegment.ofArray(new byte[256]), small, 128, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scales region has 10 bytes, needs 16");
        assertThatThrownBy(() -> Kernels.open(EncodingSpec.q8(32, "f16"), MemorySegment.ofArray(new byte[64]), MemorySegment.NULL, 32, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scales region");
        assertThatThrownBy(() -> Kernels.open(EncodingSpec.q4(32, "f16"), MemorySegment.ofArray(new byte[64]), MemorySegment.ofArray(new byte[64]), 48, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple of the group size");
        assertThatThrownBy(() -> Kernels.open(new EncodingSpec("q8", 32, "f32"), MemorySegment.ofArray(new byte[64]), MemorySegment.ofArray(new byte[64]), 32, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale type");
        assertThatThrownBy(() -> Kernels.open(new EncodingSpec("q5", 32, "f16"), MemorySegment.ofArray(new byte[64]), MemorySegment.ofArray(new byte[64]), 32, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown encoding q5");
    }

    @Test
    void rejectsShortVectorsAndBadRanges() {
        EncodedMatrix m = EncodedMatrix.random(EncodingSpec.f32(), 20, 4, 1);
        WeightMatrix k = Kernels.open(m.spec(), MemorySegment.ofArray(m.weightBytes()), MemorySegment.NULL, 20, 4);
        assertThatThrownBy(() -> k.matvec(new float[19], new float[4], 0, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> k.matvec(new float[20], new float[3], 0, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> k.matvec(new float[20], new float[4], 3, 5)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> k.matvec(new float[20], new float[4], 3, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    private static void assertClose(EncodedMatrix m, float[] x, int o, float actual) {
        double expected = m.ref(x, o);
        double tol = TOLERANCE * m.magnitude(x, o) + 1e-30;
        assertThat((double) actual).as("%s [in=%d,out=%d] output %d", m.spec(), m.in(), m.out(), o)
                .isCloseTo(expected, org.assertj.core.data.Offset.offset(tol));
    }

    /**
     * Writes the two regions into a file at the given offsets (weights at {@code wOff}, scales
     * {@code gap} bytes after them) and maps it, as the shard reader does.
     */
    private WeightMatrix open(EncodedMatrix m, long wOff, long gap) throws IOException {
        Path file = dir.resolve("m-" + wOff + "-" + gap + ".bin");
        long sOff = wOff + m.weightBytes().length + gap;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap(m.weightBytes()), wOff);
            ch.write(ByteBuffer.wrap(m.scaleBytes()), sOff);
            ch.write(ByteBuffer.wrap(new byte[64]), sOff + m.scaleBytes().length); // trailing padding
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            MemorySegment w = all.asSlice(wOff, m.weightBytes().length);
            MemorySegment s = m.scaleBytes().length == 0 ? MemorySegment.NULL : all.asSlice(sOff, m.scaleBytes().length);
            return Kernels.open(m.spec(), w, s, m.in(), m.out());
        }
    }
}
