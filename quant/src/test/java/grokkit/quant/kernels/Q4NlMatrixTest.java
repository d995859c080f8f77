package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4Nl;
import grokkit.quant.Q4NlEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The vector kernel against the scalar reference dequantization, in float64, over mapped files. */
class Q4NlMatrixTest {
    static float[] randomRows(int out, int in, long seed) {
        Random r = new Random(seed);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * (r.nextInt(40) == 0 ? 5 : 1));
        return w;
    }

    /** Encodes rows, writes weights and scales to one file (scales at a 64-aligned offset) and maps it. */
    static WeightMatrixFixture mapped(Path dir, EncodingSpec spec, int in, int out, long seed, Arena arena) throws IOException {
        float[] src = randomRows(out, in, seed);
        byte[][] enc = Q4NlEncoder.prepare(spec, src, in, out, null).encodeMatrix(src, out);
        byte[] w = enc[0], s = enc[1];
        long sOff = (w.length + 63) / 64 * 64;
        Path f = dir.resolve("m-" + spec.groupSize() + "-" + in + "-" + out + ".bin");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap(w), 0);
            ch.write(ByteBuffer.wrap(s), sOff);
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, sOff + s.length, arena);
            MemorySegment ws = all.asSlice(0, w.length), ss = all.asSlice(sOff, s.length);
            float[][] ref = new float[out][in];
            for (int o = 0; o < out; o++) Q4Nl.dequantizeRow(spec, ws, ss, in, o, ref[o]);
            return new WeightMatrixFixture(new Q4NlMatrix(spec, ws, ss, in, out), ref);
        }
    }

    record WeightMatrixFixture(Q4NlMatrix m, float[][] ref) {}

    static double refDot(float[] x, float[] w) {
        double s = 0;
        for (int i = 0; i < w.length; i++) s += (double) x[i] * w[i];
        return s;
    }

    static double absDot(float[] x, float[] w) {
        double s = 0;
        for (int i = 0; i < w.length; i++) s += Math.abs((double) x[i] * w[i]);
        return s;
    }

    @ParameterizedTest(name = "G={0} in={1} out={2}")
    @CsvSource({"32,256,37", "64,512,9", "32,344,11", "128,384,5", "16,96,7", "32,20,3", "32,2080,9", "64,1100,6", "32,2048,45", "32,1024,70", "32,2080,37"})
    void matvecMatmulAndColumnsAgreeWithTheScalarReference(int g, int in, int out, @org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        EncodingSpec spec = EncodingSpec.q4nl(g);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrixFixture f = mapped(dir, spec, in, out, g + in, arena);
            Random r = new Random(7);
            float[][] x = new float[5][in + 3];
            for (float[] row : x) for (int i = 0; i < row.length; i++) row[i] = (float) r.nextGaussian();
            float[] y = new float[out + 2];
            y[out + 1] = 99;
            int from = 1, to = out;
            f.m.matvec(x[0], y, from, to);
            assertThat(y[0]).isZero();
            assertThat(y[out + 1]).isEqualTo(99);
            for (int o = from; o < to; o++)
                assertThat((double) y[o]).isCloseTo(refDot(x[0], f.ref[o]), org.assertj.core.data.Offset.offset(1e-5 * absDot(x[0], f.ref[o]) + 1e-6));
            float[][] ym = new float[5][out];
            f.m.matmul(x, ym, 0, out);
            for (int t = 0; t < 5; t++)
                for (int o = 0; o < out; o++)
                    assertThat((double) ym[t][o]).isCloseTo(refDot(x[t], f.ref[o]), org.assertj.core.data.Offset.offset(1e-5 * absDot(x[t], f.ref[o]) + 1e-6));
            float[] col = new float[in];
            for (int o = 0; o < out; o++) {
                f.m.dequantizeColumn(o, col);
                assertThat(col).containsExactly(f.ref[o]);
            }
            assertThat(f.m.byteSize()).isEqualTo(spec.weightBytes(in, out) + spec.scaleBytes(in, out));
            assertThat(f.m.encoding()).isEqualTo("q4nl");
        }
    }

    @Test
    void refusesShortRegionsAndBadRanges(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        EncodingSpec spec = EncodingSpec.q4nl(32);
        MemorySegment w = MemorySegment.ofArray(new byte[16 * 2]), s = MemorySegment.ofArray(new byte[2]);
        assertThatThrownBy(() -> new Q4NlMatrix(spec, w, s, 32, 2)).hasMessageContaining("need");
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrixFixture f = mapped(dir, spec, 64, 4, 1, arena);
            assertThatThrownBy(() -> f.m.matvec(new float[64], new float[4], 2, 5)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> f.m.matvec(new float[63], new float[4], 0, 4)).hasMessageContaining("x has 63");
        }
    }
}
