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

    /**
     * Inputs for the decode tests: heavy-tailed values, and (when there are groups enough) a zero
     * group, a NaN, an infinity, a group below the smallest step (2^-60), one past the largest
     * amax (2^60), and one whose values are all ±(k + 1/2)·2^-4 before the channel scales.
     */
    static float[][] hostileInputs(int in, long seed) {
        Random r = new Random(seed);
        float[] plain = new float[in], hostile = new float[in];
        for (int i = 0; i < in; i++) plain[i] = hostile[i] = (float) (r.nextGaussian() * (r.nextInt(30) == 0 ? 40 : 1));
        int groups = in / 32;
        if (groups > 0) java.util.Arrays.fill(hostile, 0, 32, 0f);
        if (groups > 1) hostile[32 + 5] = Float.NaN;
        if (groups > 2) hostile[64 + 17] = Float.NEGATIVE_INFINITY;
        if (groups > 3) for (int i = 96; i < 128; i++) hostile[i] = (float) (r.nextGaussian() * 1e-30);
        if (groups > 4) hostile[128 + 3] = 3e20f;
        if (groups > 5) for (int i = 160; i < 192; i++) hostile[i] = (r.nextInt(255) - 127 + 0.5f) / 16f;
        return new float[][] {plain, hostile};
    }

    /** Decode's two loops (two rows per 512-bit vector, and one row per 256-bit one) compute the fixed order's bits. */
    @ParameterizedTest(name = "in={0} out={1}")
    @CsvSource({"2048,45", "96,9", "64,13", "8192,9", "1024,70", "32,5", "2080,9", "256,37"})
    void wideAndNarrowDecodeGiveTheFixedOrdersBits(int in, int out, @org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        EncodingSpec spec = EncodingSpec.q4nl(32);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrixFixture f = mapped(dir, spec, in, out, 3L * in + out, arena);
            Q4NlMatrix wide = new Q4NlMatrix(spec, f.m().weights, f.m().scales, in, out, true);
            Q4NlMatrix narrow = new Q4NlMatrix(spec, f.m().weights, f.m().scales, in, out, false);
            float[][] inputs = hostileInputs(in, in + out);
            // Repeated, so the later rounds run C2-compiled kernels (the first run interpreted/C1 code).
            for (int round = 0; round < (in <= 2048 ? 40 : 4); round++) {
                float[] x = inputs[round % 2];
                float[] want = new float[out], yw = new float[out], yn = new float[out];
                FixedOrder.matvec(f.m(), x, want, 0, out);
                wide.matvec(x, yw, 0, out);
                narrow.matvec(x, yn, 0, out);
                // One token's inputs prepared once per product, then row ranges as threads take them.
                float[][] x1 = {x}, ypw = new float[1][out], ypn = new float[1][out];
                grokkit.quant.WeightMatrix.PreparedInputs pw = wide.prepareInputs(x1), pn = narrow.prepareInputs(x1);
                int cut = out / 3;
                wide.matmul(x1, pw, ypw, cut, out);
                wide.matmul(x1, pw, ypw, 0, cut);
                narrow.matmul(x1, pn, ypn, 0, out);
                assertThatThrownBy(() -> narrow.matmul(x1, pw, ypn, 0, out)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not prepared");
                for (int o = 0; o < out; o++) {
                    assertThat(Float.floatToIntBits(yw[o])).as("wide, row %d: %s vs %s", o, yw[o], want[o]).isEqualTo(Float.floatToIntBits(want[o]));
                    assertThat(Float.floatToIntBits(yn[o])).as("narrow, row %d: %s vs %s", o, yn[o], want[o]).isEqualTo(Float.floatToIntBits(want[o]));
                    assertThat(Float.floatToIntBits(ypw[0][o])).as("wide, prepared, row %d", o).isEqualTo(Float.floatToIntBits(want[o]));
                    assertThat(Float.floatToIntBits(ypn[0][o])).as("narrow, prepared, row %d", o).isEqualTo(Float.floatToIntBits(want[o]));
                }
                // a group with a NaN or an infinity makes every output NaN: nothing is silently dropped
                if (in >= 96 && Float.isNaN(x[37])) for (float v : yw) assertThat(v).isNaN();
            }
        }
    }

    /**
     * The vector quantization of decode (paired codes) and of prefill (features code·step) gives
     * the scalar {@link Q4NlMatrix#quantizeGroup}'s codes and steps, group by group.
     */
    @ParameterizedTest(name = "in={0}")
    @CsvSource({"256", "2048", "8192"})
    void pairedCodesAreTheScalarCodes(int in, @org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        EncodingSpec spec = EncodingSpec.q4nl(32);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrixFixture f = mapped(dir, spec, in, 4, in, arena);
            for (float[] x : hostileInputs(in, 11 + in)) {
                short[] paired = new short[2 * in], dup = new short[2 * in], want = new short[in];
                float[] steps = new float[in / 32], stepsDup = new float[in / 32];
                f.m().quantizePaired(x, paired, steps, false);
                f.m().quantizePaired(x, dup, stepsDup, true);
                float[] xc = new float[in];
                for (int i = 0; i < in; i++) xc[i] = x[i] * f.channel()[i];
                float[] features = new float[in];
                f.m().inputFeatures(x, 0, in, features, 0);
                for (int g = 0; g < in / 32; g++) {
                    float step = Q4NlMatrix.quantizeGroup(xc, 32 * g, 32, want, 32 * g);
                    // prefill's features: code·step of inputs 0..7, 16..23, 8..15, 24..31 of the group
                    for (int w = 0; w < 32; w++) {
                        int input = 32 * g + (w / 8 == 1 ? 16 : w / 8 == 2 ? 8 : w / 8 == 3 ? 24 : 0) + w % 8;
                        assertThat(Float.floatToIntBits(features[32 * g + w])).as("feature %d of group %d", w, g)
                                .isEqualTo(Float.floatToIntBits(want[input] * step));
                    }
                    assertThat(Float.floatToIntBits(steps[g])).as("step of group %d", g).isEqualTo(Float.floatToIntBits(step));
                    assertThat(Float.floatToIntBits(stepsDup[g])).isEqualTo(Float.floatToIntBits(steps[g]));
                    for (int l = 0; l < 8; l++) {
                        int b = 32 * g;
                        // paired order: inputs l, l+8 at 2l, 2l+1; inputs 16+l, 24+l at 16+2l, 17+2l
                        assertThat(new short[] {paired[b + 2 * l], paired[b + 2 * l + 1], paired[b + 16 + 2 * l], paired[b + 17 + 2 * l]})
                                .as("group %d lane %d", g, l).containsExactly(want[b + l], want[b + l + 8], want[b + 16 + l], want[b + 24 + l]);
                        // duplicated order: each half twice
                        assertThat(new short[] {dup[2 * b + 2 * l], dup[2 * b + 16 + 2 * l], dup[2 * b + 32 + 2 * l], dup[2 * b + 48 + 2 * l]})
                                .containsExactly(want[b + l], want[b + l], want[b + 16 + l], want[b + 16 + l]);
                    }
                }
            }
        }
    }

    /** Lane-wise rounding is Math.round (ties up) clamped to ±128, at ties, near ties, signed zeros, NaN and infinities. */
    @Test
    void laneRoundingIsMathRound() {
        java.util.List<Float> values = new java.util.ArrayList<>();
        for (int k = -135; k <= 135; k++) {
            values.add(k + 0.5f);
            values.add(Math.nextDown(k + 0.5f));
            values.add(Math.nextUp(k + 0.5f));
            values.add((float) k);
        }
        values.addAll(java.util.List.of(-0f, 0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e30f, Float.MIN_VALUE));
        float[] v = new float[8];
        int[] got = new int[8];
        for (int i = 0; i < values.size(); i += 8) {
            for (int l = 0; l < 8; l++) v[l] = values.get(Math.min(values.size() - 1, i + l));
            Q4NlMatrix.roundCodes(jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_256, v, 0), 1f).intoArray(got, 0);
            for (int l = 0; l < 8; l++) {
                int want = Math.max(-128, Math.min(128, Math.round(v[l])));
                assertThat(got[l]).as("round(%s)", v[l]).isEqualTo(want);
            }
        }
    }
}
