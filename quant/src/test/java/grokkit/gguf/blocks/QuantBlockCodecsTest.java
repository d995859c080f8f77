package grokkit.gguf.blocks;

import grokkit.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The 4-, 5- and 6-bit block codecs: hand-built blocks decode to hand-computed values (the byte
 * layout), quantization error bounds, the search beating llama.cpp's plain rounding rules,
 * importance weighting, determinism, and bad arguments.
 */
class QuantBlockCodecsTest {
    static final List<GgmlType> TYPES = List.of(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
            GgmlType.IQ4_NL, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);

    static final short ONE = 0x3C00, HALF = 0x3800, QUARTER = 0x3400, TWO = 0x4000;

    static float[] decode(GgmlType t, byte[] b, int n) {
        float[] y = new float[n];
        t.codec().dequantizeRow(b, 0, n, y, 0);
        return y;
    }

    static void f16(byte[] b, int at, short h) {
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >> 8);
    }

    // ---- layout: blocks built byte by byte from ggml-common.h, values computed by hand ----

    @Test
    void q4_0HandBlock() {
        byte[] b = new byte[18];
        f16(b, 0, HALF);
        for (int j = 0; j < 16; j++) b[2 + j] = (byte) (j | (15 - j) << 4);
        float[] y = decode(GgmlType.Q4_0, b, 32);
        for (int j = 0; j < 16; j++) {
            assertThat(y[j]).isEqualTo((j - 8) * 0.5f);
            assertThat(y[j + 16]).isEqualTo((7 - j) * 0.5f);
        }
    }

    @Test
    void iq4_nlHandBlock() {
        int[] kvalues = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
        byte[] b = new byte[18];
        f16(b, 0, QUARTER);
        for (int j = 0; j < 16; j++) b[2 + j] = (byte) ((15 - j) | j << 4);
        float[] y = decode(GgmlType.IQ4_NL, b, 32);
        for (int j = 0; j < 16; j++) {
            assertThat(y[j]).isEqualTo(kvalues[15 - j] * 0.25f);
            assertThat(y[j + 16]).isEqualTo(kvalues[j] * 0.25f);
        }
    }

    @Test
    void q5_0HandBlock() {
        byte[] b = new byte[22];
        f16(b, 0, TWO);
        // fifth bits: value 0 (bit 0), value 17 (bit 17), value 31 (bit 31)
        int qh = 1 | 1 << 17 | 1 << 31;
        for (int k = 0; k < 4; k++) b[2 + k] = (byte) (qh >>> (8 * k));
        for (int j = 0; j < 16; j++) b[6 + j] = (byte) (3 | 5 << 4);
        float[] y = decode(GgmlType.Q5_0, b, 32);
        assertThat(y[0]).isEqualTo((16 + 3 - 16) * 2f);
        assertThat(y[1]).isEqualTo((3 - 16) * 2f);
        assertThat(y[16]).isEqualTo((5 - 16) * 2f);
        assertThat(y[17]).isEqualTo((16 + 5 - 16) * 2f);
        assertThat(y[31]).isEqualTo((16 + 5 - 16) * 2f);
        assertThat(y[30]).isEqualTo((5 - 16) * 2f);
    }

    @Test
    void q4_1AndQ5_1HandBlocks() {
        byte[] b = new byte[20];
        f16(b, 0, HALF);
        f16(b, 2, (short) 0xBC00); // m = -1
        for (int j = 0; j < 16; j++) b[4 + j] = (byte) (j | 15 << 4);
        float[] y = decode(GgmlType.Q4_1, b, 32);
        for (int j = 0; j < 16; j++) {
            assertThat(y[j]).isEqualTo(j * 0.5f - 1f);
            assertThat(y[16 + j]).isEqualTo(15 * 0.5f - 1f);
        }
        byte[] c = new byte[24];
        f16(c, 0, ONE);
        f16(c, 2, HALF);
        int qh = 1 << 2 | 1 << 20;
        for (int k = 0; k < 4; k++) c[4 + k] = (byte) (qh >>> (8 * k));
        for (int j = 0; j < 16; j++) c[8 + j] = (byte) (1 | 2 << 4);
        float[] z = decode(GgmlType.Q5_1, c, 32);
        assertThat(z[2]).isEqualTo(17 + 0.5f);
        assertThat(z[3]).isEqualTo(1 + 0.5f);
        assertThat(z[20]).isEqualTo(18 + 0.5f);
        assertThat(z[21]).isEqualTo(2 + 0.5f);
    }

    /** Sub-block scales 1..8 and mins 40..47 (sub-blocks 4-7 need the top bits), packed by hand. */
    static final int[] K_SC = {1, 2, 3, 4, 53, 17, 33, 63}, K_M = {40, 41, 42, 43, 44, 45, 46, 47};

    static byte[] kScales() {
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            s[j] = (byte) (K_SC[j] | (K_SC[j + 4] >> 4) << 6);
            s[j + 4] = (byte) (K_M[j] | (K_M[j + 4] >> 4) << 6);
            s[j + 8] = (byte) ((K_SC[j + 4] & 15) | (K_M[j + 4] & 15) << 4);
        }
        return s;
    }

    @Test
    void kScalePackingByHand() {
        byte[] s = kScales();
        // sub-block 4: scale 53 = 0b11_0101 -> low nibble 5 in byte 8, top bits 11 in byte 0's bits 6-7
        assertThat(s[8] & 15).isEqualTo(5);
        assertThat((s[0] & 0xff) >> 6).isEqualTo(3);
        assertThat(s[0] & 63).isEqualTo(1);
        for (int j = 0; j < 8; j++) {
            assertThat(AffineKCodec.scaleMin(s, 0, j, false)).isEqualTo(K_SC[j]);
            assertThat(AffineKCodec.scaleMin(s, 0, j, true)).isEqualTo(K_M[j]);
        }
    }

    @Test
    void q4_KHandBlock() {
        byte[] b = new byte[144];
        f16(b, 0, HALF);     // d
        f16(b, 2, QUARTER);  // dmin
        System.arraycopy(kScales(), 0, b, 4, 12);
        for (int c = 0; c < 4; c++) for (int l = 0; l < 32; l++) b[16 + 32 * c + l] = (byte) ((l & 15) | (15 - (l & 15)) << 4);
        float[] y = decode(GgmlType.Q4_K, b, 256);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int lo = 2 * c, hi = 2 * c + 1;
                assertThat(y[64 * c + l]).as("value %d", 64 * c + l).isEqualTo(0.5f * K_SC[lo] * (l & 15) - 0.25f * K_M[lo]);
                assertThat(y[64 * c + 32 + l]).isEqualTo(0.5f * K_SC[hi] * (15 - (l & 15)) - 0.25f * K_M[hi]);
            }
        }
    }

    @Test
    void q5_KHandBlock() {
        byte[] b = new byte[176];
        f16(b, 0, ONE);
        f16(b, 2, HALF);
        System.arraycopy(kScales(), 0, b, 4, 12);
        b[16 + 5] = (byte) 0b0100_0010; // qh byte 5: fifth bit of value 64·0+32+5 (bit 1) and 64·3+5 (bit 6)
        for (int i = 0; i < 128; i++) b[48 + i] = (byte) (7 | 9 << 4);
        float[] y = decode(GgmlType.Q5_K, b, 256);
        assertThat(y[5]).isEqualTo(K_SC[0] * 7f - 0.5f * K_M[0]);
        assertThat(y[37]).isEqualTo(K_SC[1] * 25f - 0.5f * K_M[1]);
        assertThat(y[192 + 5]).isEqualTo(K_SC[6] * 23f - 0.5f * K_M[6]);
        assertThat(y[192 + 6]).isEqualTo(K_SC[6] * 7f - 0.5f * K_M[6]);
        assertThat(y[224 + 5]).isEqualTo(K_SC[7] * 9f - 0.5f * K_M[7]);
    }

    @Test
    void q6_KHandBlock() {
        byte[] b = new byte[210];
        // value 128·1 + 32·3 + 7 = 231: low nibble in ql[64 + 7 + 32] high half, top bits at bit 6 of qh[32 + 7]
        b[64 + 7 + 32] = (byte) (0x5 << 4);
        b[128 + 32 + 7] = (byte) (0b10 << 6);
        // value 3 (n 0, k 0, l 3): ql[3] low nibble, qh[3] bits 0-1
        b[3] = 0xE;
        b[128 + 3] = 0b01;
        for (int s = 0; s < 16; s++) b[192 + s] = (byte) (s - 8);
        f16(b, 208, HALF);
        float[] y = decode(GgmlType.Q6_K, b, 256);
        assertThat(y[231]).isEqualTo(0.5f * (231 / 16 - 8) * ((0x5 | 0b10 << 4) - 32));
        assertThat(y[3]).isEqualTo(0.5f * (0 - 8) * ((0xE | 0b01 << 4) - 32));
        assertThat(y[4]).isEqualTo(0.5f * (0 - 8) * (0 - 32));
        assertThat(y[255]).isEqualTo(0.5f * (15 - 8) * (0 - 32));
    }

    // ---- quantization ----

    /** Heavy-tailed rows (student-t-like bulk, a few 4-8× outliers), as expert weights are. */
    static float[] heavyRow(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian() / Math.sqrt(0.5 + r.nextDouble());
            if (r.nextInt(33) == 0) g *= 4 + 4 * r.nextDouble();
            x[i] = (float) (g * 0.02);
        }
        return x;
    }

    static float[] roundTrip(GgmlType t, float[] x, float[] imp) {
        byte[] b = new byte[(int) t.rowBytes(x.length)];
        t.codec().quantizeRow(x, 0, x.length, imp, b, 0);
        return decode(t, b, x.length);
    }

    static double weightedError(float[] x, float[] y, float[] imp) {
        double e = 0;
        for (int i = 0; i < x.length; i++) e += (imp == null ? 1 : imp[i]) * (double) (x[i] - y[i]) * (x[i] - y[i]);
        return e;
    }

    static double relRms(float[] x, float[] y) {
        double s = 0;
        for (float v : x) s += (double) v * v;
        return Math.sqrt(weightedError(x, y, null) / s);
    }

    /**
     * Relative RMS error bounds on these heavy rows, ~5-10% above what the codecs measure (Q4_0
     * 0.143, Q4_1 0.092, Q5_0 0.073, Q5_1 0.045, IQ4_NL 0.106, Q4_K 0.093, Q5_K 0.045, Q6_K 0.026):
     * regression guards; {@link #q4_0SearchIsAsGoodAsABruteForceScan} shows what is attainable.
     */
    static double bound(GgmlType t) {
        return switch (t) {
            case Q4_0 -> 0.15;
            case Q4_1, Q4_K -> 0.1;
            case IQ4_NL -> 0.115;
            case Q5_0 -> 0.08;
            case Q5_1, Q5_K -> 0.05;
            case Q6_K -> 0.03;
            default -> throw new AssertionError(t);
        };
    }

    @Test
    void errorWithinBoundsAndDeterministic() {
        for (GgmlType t : TYPES) {
            Random r = new Random(7);
            float[] x = heavyRow(r, 4096);
            float[] y = roundTrip(t, x, null);
            assertThat(relRms(x, y)).as("%s relative RMS error", t).isLessThan(bound(t));
            assertThat(roundTrip(t, x, null)).as("%s twice", t).containsExactly(y);
        }
    }

    /** llama.cpp's importance-free reference rounding (quantize_row_q4_0_ref): d = m / −8, codes round(x/d + 8.5) clamped. */
    static float[] plainQ4_0(float[] x) {
        float[] y = new float[x.length];
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0, m = 0;
            for (int j = 0; j < 32; j++) if (Math.abs(x[32 * b + j]) > amax) { amax = Math.abs(x[32 * b + j]); m = x[32 * b + j]; }
            float d = m / -8, id = d != 0 ? 1 / d : 0, d16 = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) y[32 * b + j] = (Math.min(15, (int) (x[32 * b + j] * id + 8.5f)) - 8) * d16;
        }
        return y;
    }

    /** Plain affine rounding: min and (max − min)/15 per block of 32 (the rule of quantize_row_q4_1_ref). */
    static float[] plainQ4_1(float[] x) {
        float[] y = new float[x.length];
        for (int b = 0; b < x.length / 32; b++) {
            float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
            for (int j = 0; j < 32; j++) { lo = Math.min(lo, x[32 * b + j]); hi = Math.max(hi, x[32 * b + j]); }
            float d = (hi - lo) / 15, id = d != 0 ? 1 / d : 0;
            float d16 = Float.float16ToFloat(Float.floatToFloat16(d)), m16 = Float.float16ToFloat(Float.floatToFloat16(lo));
            for (int j = 0; j < 32; j++) y[32 * b + j] = Math.min(15, (int) ((x[32 * b + j] - lo) * id + 0.5f)) * d16 + m16;
        }
        return y;
    }

    @Test
    void searchBeatsPlainRounding() {
        Random r = new Random(11);
        double ours0 = 0, plain0 = 0, ours1 = 0, plain1 = 0;
        for (int row = 0; row < 20; row++) {
            float[] x = heavyRow(r, 1024);
            ours0 += weightedError(x, roundTrip(GgmlType.Q4_0, x, null), null);
            plain0 += weightedError(x, plainQ4_0(x), null);
            ours1 += weightedError(x, roundTrip(GgmlType.Q4_1, x, null), null);
            plain1 += weightedError(x, plainQ4_1(x), null);
        }
        // outliers pin Q4_0's scale: even the brute-force scan below gains only ~6% over plain rounding here
        assertThat(ours0).as("Q4_0 squared error vs plain rounding").isLessThan(0.96 * plain0);
        assertThat(ours1).as("Q4_1 squared error vs plain rounding").isLessThan(0.85 * plain1);
    }

    /** Every f16 scale from 0.5 to 1.6 × (largest value / extreme level), both signs, nearest codes: the best. */
    static double bruteForce(float[] x, ScaleSearch.Grid g) {
        double total = 0;
        int[] codes = new int[32];
        float[] ones = new float[32];
        Arrays.fill(ones, 1f);
        for (int b = 0; b < x.length / 32; b++) {
            float m = 0;
            for (int j = 0; j < 32; j++) if (Math.abs(x[32 * b + j]) > Math.abs(m)) m = x[32 * b + j];
            double best = Double.POSITIVE_INFINITY;
            for (float ext : new float[] {g.lowest(), g.highest()}) {
                for (int k = 0; k <= 1500; k++) {
                    float d = Float.float16ToFloat(Float.floatToFloat16(m / (ext * (0.5f + k * 1.1f / 1500))));
                    best = Math.min(best, ScaleSearch.assignSymmetric(x, 32 * b, 32, ones, 0, g, d, codes, 0));
                }
            }
            total += best;
        }
        return total;
    }

    @Test
    void q4_0SearchIsAsGoodAsABruteForceScan() {
        Random r = new Random(23);
        float[] x = heavyRow(r, 4096);
        double ours = weightedError(x, roundTrip(GgmlType.Q4_0, x, null), null);
        assertThat(ours).isLessThan(1.01 * bruteForce(x, ScaleSearch.uniform(-8, 7)));
        float[] y = roundTrip(GgmlType.IQ4_NL, x, null);
        ScaleSearch.Grid nl = new ScaleSearch.Grid() {
            public int nearest(float v) { return grokkit.quant.Q4Nl.nearest(v); }
            public float level(int c) { return grokkit.quant.Q4Nl.level(c); }
            public float lowest() { return -127; }
            public float highest() { return 113; }
        };
        assertThat(weightedError(x, y, null)).isLessThan(1.01 * bruteForce(x, nl));
    }

    @Test
    void importanceLowersTheWeightedError() {
        for (GgmlType t : TYPES) {
            Random r = new Random(13);
            double with = 0, without = 0;
            for (int row = 0; row < 8; row++) {
                float[] x = heavyRow(r, 512);
                float[] imp = new float[512];
                // a few inputs matter 30× more (hot activation channels), the rest spread log-normally
                for (int i = 0; i < imp.length; i++) imp[i] = (float) Math.exp(r.nextGaussian()) * (r.nextInt(16) == 0 ? 30 : 1);
                with += weightedError(x, roundTrip(t, x, imp), imp);
                without += weightedError(x, roundTrip(t, x, null), imp);
            }
            assertThat(with).as("%s importance-weighted error with vs without importance", t).isLessThan(0.9 * without);
        }
    }

    @Test
    void gridValuesComeBackExactly() {
        // a block whose values are on Q4_0's grid for an f16 scale is stored without error
        float d = 0.0078125f;
        float[] x = new float[64];
        for (int i = 0; i < 64; i++) x[i] = ((i * 7) % 16 - 8) * d;
        assertThat(roundTrip(GgmlType.Q4_0, x, null)).containsExactly(x);
        float[] z = new float[256];
        assertThat(roundTrip(GgmlType.Q4_K, z, null)).containsOnly(0f);
        assertThat(roundTrip(GgmlType.Q6_K, z, null)).containsOnly(0f);
        assertThat(roundTrip(GgmlType.IQ4_NL, new float[32], null)).containsOnly(0f);
    }

    @Test
    void codesAreNearestForTheStoredScale() {
        // every value of a Q4_0 / IQ4_NL block decodes to the level nearest to it for the stored d
        Random r = new Random(17);
        float[] x = heavyRow(r, 512);
        for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.IQ4_NL, GgmlType.Q5_0)) {
            byte[] b = new byte[(int) t.rowBytes(512)];
            t.codec().quantizeRow(x, 0, 512, null, b, 0);
            float[] y = decode(t, b, 512);
            for (int blk = 0; blk < 16; blk++) {
                float d = Float.float16ToFloat((short) ((b[blk * t.bytesPerBlock()] & 0xff) | b[blk * t.bytesPerBlock() + 1] << 8));
                byte[] probe = new byte[t.bytesPerBlock()];
                System.arraycopy(b, blk * t.bytesPerBlock(), probe, 0, probe.length);
                // all levels for this d: decode blocks whose codes are all c
                int codes = t == GgmlType.Q5_0 ? 32 : 16;
                float[] levels = new float[codes];
                for (int c = 0; c < codes; c++) {
                    byte[] one = probe.clone();
                    int q0 = t == GgmlType.Q5_0 ? 6 : 2;
                    if (t == GgmlType.Q5_0) for (int k = 0; k < 4; k++) one[2 + k] = (byte) (c >= 16 ? 0xff : 0);
                    for (int j = 0; j < 16; j++) one[q0 + j] = (byte) ((c & 15) | (c & 15) << 4);
                    levels[c] = decode(t, one, 32)[0];
                }
                for (int j = 0; j < 32; j++) {
                    float v = x[32 * blk + j], got = Math.abs(v - y[32 * blk + j]);
                    for (float l : levels) assertThat(got).as("%s block %d value %d (d=%s)", t, blk, j, d).isLessThanOrEqualTo(Math.abs(v - l));
                }
            }
        }
    }

    @Test
    void sameBytesFromManyThreadsAndAtAnOffset() throws Exception {
        Random r = new Random(19);
        float[][] rows = new float[16][];
        for (int i = 0; i < rows.length; i++) rows[i] = heavyRow(r, 512);
        for (GgmlType t : TYPES) {
            int rb = (int) t.rowBytes(512);
            byte[][] serial = new byte[rows.length][rb];
            for (int i = 0; i < rows.length; i++) t.codec().quantizeRow(rows[i], 0, 512, null, serial[i], 0);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<byte[]>> fs = new java.util.ArrayList<>();
                for (float[] row : rows) {
                    fs.add(pool.submit(() -> {
                        float[] shifted = new float[600];
                        System.arraycopy(row, 0, shifted, 37, 512);
                        byte[] b = new byte[rb + 9];
                        t.codec().quantizeRow(shifted, 37, 512, null, b, 9);
                        return Arrays.copyOfRange(b, 9, 9 + rb);
                    }));
                }
                for (int i = 0; i < rows.length; i++) assertThat(fs.get(i).get()).as("%s row %d", t, i).isEqualTo(serial[i]);
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void refusesBadRows() {
        for (GgmlType t : TYPES) {
            BlockCodec c = t.codec();
            assertThat(c.type()).isEqualTo(t);
            int n = t.blockSize();
            assertThatThrownBy(() -> c.quantizeRow(new float[n + 1], 0, n + 1, null, new byte[1000], 0)).isInstanceOf(IllegalArgumentException.class);
            float[] bad = new float[n];
            bad[3] = Float.NaN;
            assertThatThrownBy(() -> c.quantizeRow(bad, 0, n, null, new byte[1000], 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-finite");
            assertThatThrownBy(() -> c.quantizeRow(new float[n], 0, n, new float[n - 1], new byte[1000], 0)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
