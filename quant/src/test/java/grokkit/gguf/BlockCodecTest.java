package grokkit.gguf;

import grokkit.gguf.blocks.BlockCodec;
import grokkit.quant.Halfs;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class BlockCodecTest {
    private static float[] heavyRow(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian();
            x[i] = (float) (g * (r.nextInt(20) == 0 ? 8 : 1) * 0.02);
        }
        return x;
    }

    @Test
    void floatTypesRoundAsHalfsDo() {
        Random r = new Random(1);
        float[] x = heavyRow(r, 256);
        x[3] = 1e-9f;
        x[4] = -70000f;
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            BlockCodec c = t.codec();
            assertThat(c.type()).isEqualTo(t);
            byte[] b = new byte[(int) t.rowBytes(x.length)];
            c.quantizeRow(x, 0, x.length, null, b, 0);
            float[] y = new float[x.length];
            c.dequantizeRow(b, 0, x.length, y, 0);
            for (int i = 0; i < x.length; i++) {
                float want = switch (t) {
                    case F32 -> x[i];
                    case F16 -> Halfs.f16ToFloat(Halfs.floatToF16(x[i]));
                    default -> Halfs.bf16ToFloat(Halfs.floatToBf16(x[i]));
                };
                assertThat(y[i]).as("%s %d", t, i).isEqualTo(want);
            }
        }
    }

    /** llama.cpp's quantize_row_q8_0_ref, decoded: the baseline every block must match or beat. */
    private static float[] referenceQ8_0(float[] x) {
        float[] y = new float[x.length];
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f, d16 = Halfs.f16ToFloat(Halfs.floatToF16(d));
            for (int j = 0; j < 32; j++) {
                float v = x[b * 32 + j] * id;
                y[b * 32 + j] = d16 * (float) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
            }
        }
        return y;
    }

    @Test
    void q8_0NeverWorseThanLlamaCppsReferencePerBlockAndBetterOverall() {
        Random r = new Random(2);
        BlockCodec c = GgmlType.Q8_0.codec();
        double ours = 0, ref = 0;
        for (int row = 0; row < 50; row++) {
            float[] x = heavyRow(r, 512);
            float[] imp = new float[512];
            for (int i = 0; i < imp.length; i++) imp[i] = (float) Math.exp(r.nextGaussian());
            for (float[] w : new float[][] {null, imp}) {
                byte[] b = new byte[(int) GgmlType.Q8_0.rowBytes(512) + 5];
                c.quantizeRow(x, 0, 512, w, b, 5);
                float[] y = new float[512];
                c.dequantizeRow(b, 5, 512, y, 0);
                float[] z = referenceQ8_0(x);
                for (int blk = 0; blk < 16; blk++) {
                    double eo = 0, er = 0;
                    for (int j = blk * 32; j < blk * 32 + 32; j++) {
                        double wj = w == null ? 1 : w[j];
                        eo += wj * (x[j] - y[j]) * (x[j] - y[j]);
                        er += wj * (x[j] - z[j]) * (x[j] - z[j]);
                    }
                    assertThat(eo).isLessThanOrEqualTo(er);
                    ours += eo;
                    ref += er;
                }
            }
        }
        assertThat(ours).isLessThan(0.97 * ref);
    }

    @Test
    void q8_0ZeroBlockAndOffsets() {
        BlockCodec c = GgmlType.Q8_0.codec();
        float[] x = new float[70];
        for (int i = 38; i < 70; i++) x[i] = i - 50;
        byte[] b = new byte[68];
        c.quantizeRow(x, 6, 64, null, b, 0);
        float[] y = new float[64];
        c.dequantizeRow(b, 0, 64, y, 0);
        for (int i = 0; i < 32; i++) assertThat(y[i]).isZero();
        for (int i = 32; i < 64; i++) assertThat(y[i]).isCloseTo(x[i + 6], org.assertj.core.data.Offset.offset(0.1f));
    }
}
