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
            return new WeightMatrixFixture(new Q4NlMatrix(spec, ws, ss, in, out), ref, Q4Nl.channelScales(ss, in));
        }
    }

    record WeightMatrixFixture(Q4NlMatrix m, float[][] ref, float[] channel) {
        /** Inputs of whole groups go through the kernel's integer path (when G/2 is a multiple of 16). */
        int quantizedInputs() {
            int g = m.featureGroup();
            return g / 2 % 16 == 0 ? m.inDim() / g * g : 0;
        }

        /**
         * What the kernel computes, in float64: the inputs of whole groups replaced by their
         * dequantized codes (x∘c)^ = code·step (so x^ = (x∘c)^ / c), the rest as they are.
         */
        float[] quantizedInput(float[] x) {
            int g = m.featureGroup(), n = quantizedInputs();
            float[] xc = new float[m.inDim()], xq = x.clone();
            for (int i = 0; i < xc.length; i++) xc[i] = x[i] * channel[i];
            short[] q = new short[g];
            for (int i0 = 0; i0 < n; i0 += g) {
                float step = Q4NlMatrix.quantizeGroup(xc, i0, g, q, 0);
                for (int j = 0; j < g; j++) xq[i0 + j] = (float) ((double) q[j] * step / channel[i0 + j]);
            }
            return xq;
        }

        /** Bound on |y − x·w| from the input quantization: Σ |w_i| · (step/2) / c_i over the quantized inputs (step ≤ amax/64). */
        double quantizationBound(float[] x, int o) {
            int g = m.featureGroup(), n = quantizedInputs();
            double b = 0;
            for (int i0 = 0; i0 < n; i0 += g) {
                double amax = 0;
                for (int j = 0; j < g; j++) amax = Math.max(amax, Math.abs((double) x[i0 + j] * channel[i0 + j]));
                for (int j = 0; j < g; j++) b += Math.abs(ref[o][i0 + j]) * (amax / 64 / 2) / channel[i0 + j];
            }
            return b;
        }
    }

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
            float[] x0q = f.quantizedInput(x[0]);
            for (int o = from; o < to; o++) {
                assertThat((double) y[o]).isCloseTo(refDot(x0q, f.ref[o]), org.assertj.core.data.Offset.offset(1e-5 * absDot(x0q, f.ref[o]) + 1e-6));
                assertThat((double) y[o]).isCloseTo(refDot(x[0], f.ref[o]),
                        org.assertj.core.data.Offset.offset(f.quantizationBound(x[0], o) + 1e-5 * absDot(x[0], f.ref[o]) + 1e-6));
            }
            float[][] ym = new float[5][out];
            f.m.matmul(x, ym, 0, out);
            for (int t = 0; t < 5; t++) {
                float[] xq = f.quantizedInput(x[t]);
                for (int o = 0; o < out; o++)
                    assertThat((double) ym[t][o]).isCloseTo(refDot(xq, f.ref[o]), org.assertj.core.data.Offset.offset(1e-5 * absDot(xq, f.ref[o]) + 1e-6));
            }
            float[] col = new float[in];
            for (int o = 0; o < out; o++) {
                f.m.dequantizeColumn(o, col);
                assertThat(col).containsExactly(f.ref[o]);
            }
            assertThat(f.m.byteSize()).isEqualTo(spec.weightBytes(in, out) + spec.scaleBytes(in, out));
            assertThat(f.m.encoding()).isEqualTo("q4nl");
        }
    }

    /** The activation codes: power-of-two steps, range, rounding, the zero group, and non-finite inputs that must not vanish. */
    @Test
    void inputCodesRoundToAPowerOfTwoStep() {
        float[] xc = {1f, -0.5f, 0.25f, -2f, 0f, 0.0078125f, 1.5f, -1.9f};
        short[] q = new short[8];
        float step = Q4NlMatrix.quantizeGroup(xc, 0, 8, q, 0);
        assertThat(step).isEqualTo(1f / 64); // amax 2 = 128·2^-6 exactly
        assertThat(q).containsExactly((short) 64, (short) -32, (short) 16, (short) -128, (short) 0, (short) 1, (short) 96, (short) -122); // 0.5 rounds up (Math.round)
        for (int i = 0; i < 8; i++) assertThat(Math.abs(q[i] * step - xc[i])).isLessThanOrEqualTo(step / 2);
        xc[3] = -2.01f; // just over 128·2^-6: the step doubles, codes stay within ±128
        assertThat(Q4NlMatrix.quantizeGroup(xc, 0, 8, q, 0)).isEqualTo(1f / 32);
        assertThat(q[3]).isEqualTo((short) -64);
        float small = Q4NlMatrix.quantizeGroup(new float[]{3e-5f, -1e-5f}, 0, 2, q, 0);
        assertThat(small).isEqualTo(Math.scalb(1f, -22)); // 128·2^-22 ≈ 3.05e-5 ≥ 3e-5
        assertThat(q[0]).isBetween((short) 64, (short) 128);
        assertThat(Q4NlMatrix.quantizeGroup(new float[4], 0, 4, q, 0)).isZero();
        assertThat(q[0]).isZero();
        assertThat(Q4NlMatrix.quantizeGroup(new float[]{1e-30f, 0f}, 0, 2, q, 0)).isZero();
        assertThat(Q4NlMatrix.quantizeGroup(new float[]{1f, Float.NaN, 2f, 0f}, 0, 4, q, 0)).isNaN();
        assertThat(Q4NlMatrix.quantizeGroup(new float[]{1f, Float.NEGATIVE_INFINITY, 2f, 0f}, 0, 4, q, 0)).isNaN();
        assertThat(Q4NlMatrix.quantizeGroup(new float[]{1e30f}, 0, 1, q, 0)).isNaN();
    }

    @Test
    void nonFiniteInputsGiveNonFiniteOutputs(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        EncodingSpec spec = EncodingSpec.q4nl(32);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrixFixture f = mapped(dir, spec, 64, 4, 3, arena);
            float[] x = new float[64], y = new float[4];
            java.util.Arrays.fill(x, 0.5f);
            x[40] = Float.NaN;
            f.m.matvec(x, y, 0, 4);
            for (float v : y) assertThat(v).isNaN();
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
