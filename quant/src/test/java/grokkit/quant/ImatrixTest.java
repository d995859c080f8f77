package grokkit.quant;

import grokkit.errors.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ImatrixTest {
    @TempDir
    Path tmp;

    /** 2 layers × 3 experts, emb 8, ffn 16; layer 1 expert 2 saw no token, layer 0 channel 3 is never used. */
    static Imatrix sample() {
        Random r = new Random(5);
        int layers = 2, experts = 3, emb = 8, ffn = 16;
        long[][] tokens = {{4, 7, 1}, {9, 3, 0}};
        float[][] in = new float[layers * experts][emb], down = new float[layers * experts][ffn];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < experts; e++) {
                if (tokens[l][e] == 0) continue;
                for (int i = 0; i < emb; i++) in[l * experts + e][i] = l == 0 && i == 3 ? 0f : (float) (r.nextDouble() * 4);
                for (int i = 0; i < ffn; i++) down[l * experts + e][i] = (float) (r.nextDouble() * r.nextDouble());
            }
        }
        return new Imatrix(layers, experts, emb, ffn, tokens, in, down, "sample text");
    }

    @Test
    void roundTripsThroughItsFiles() throws Exception {
        Imatrix m = sample();
        Path f = tmp.resolve("cal.imatrix.json");
        m.write(f);
        assertThat(tmp.resolve("cal.imatrix.json.expert_in.npy")).exists();
        assertThat(tmp.resolve("cal.imatrix.json.down_in.npy")).exists();
        Imatrix r = Imatrix.read(f);
        assertThat(r.sha256()).isEqualTo(Imatrix.sha256(Files.readAllBytes(f))).hasSize(64);
        assertThat(r.calibration()).isEqualTo("sample text");
        assertThat(new int[] {r.layers(), r.experts(), r.embSize(), r.ffnSize()}).containsExactly(2, 3, 8, 16);
        for (int l = 0; l < 2; l++) {
            for (int e = 0; e < 3; e++) {
                assertThat(r.tokens(l, e)).isEqualTo(m.tokens(l, e));
                assertThat(r.meanSquares(l, e, false)).containsExactly(m.meanSquares(l, e, false));
                assertThat(r.meanSquares(l, e, true)).containsExactly(m.meanSquares(l, e, true));
            }
        }
        // Writing again gives the same bytes (the checksum the manifest records is reproducible).
        Path g = tmp.resolve("again.json");
        r.write(g);
        assertThat(Imatrix.read(g).meanSquares(1, 1, true)).containsExactly(m.meanSquares(1, 1, true));
    }

    @Test
    void importanceIsNormalisedFlooredAndFallsBackToTheLayer() {
        Imatrix m = sample();
        float[] w = m.importance(0, 1, false), ms = m.meanSquares(0, 1, false);
        double mean = 0;
        for (float v : ms) mean += v / 8.0;
        for (int i = 0; i < 8; i++) {
            if (i == 3) assertThat(w[i]).isEqualTo(Imatrix.FLOOR); // never seen: the floor
            else assertThat((double) w[i]).isCloseTo(ms[i] / mean, org.assertj.core.data.Offset.offset(1e-6));
        }
        // Layer 1 expert 2 saw nothing: the token-weighted mean of experts 0 (9 tokens) and 1 (3).
        float[] f = m.importance(1, 2, true), a = m.meanSquares(1, 0, true), b = m.meanSquares(1, 1, true);
        double[] want = new double[16];
        double sum = 0;
        for (int i = 0; i < 16; i++) sum += want[i] = (9.0 * a[i] + 3.0 * b[i]) / 12;
        for (int i = 0; i < 16; i++) assertThat((double) f[i]).isCloseTo(Math.max(Imatrix.FLOOR, want[i] / (sum / 16)), org.assertj.core.data.Offset.offset(1e-5));
        // Uniform statistics give exactly 1 everywhere (the encoding is then the unweighted one, byte for byte).
        float[][] in = new float[1][8], down = new float[1][4];
        java.util.Arrays.fill(in[0], 0.37f);
        java.util.Arrays.fill(down[0], 3.1f);
        Imatrix u = new Imatrix(1, 1, 8, 4, new long[][] {{5}}, in, down, "uniform");
        assertThat(u.importance(0, 0, false)).containsOnly(1f);
        assertThat(u.importance(0, 0, true)).containsOnly(1f);
        // A layer that saw no token at all: no weights.
        Imatrix none = new Imatrix(1, 1, 8, 4, new long[][] {{0}}, new float[1][8], new float[1][4], "none");
        assertThat(none.importance(0, 0, false)).isNull();
    }

    @Test
    void badFilesAreRejectedNamingTheFile() throws Exception {
        Path f = tmp.resolve("x.json");
        assertThatThrownBy(() -> Imatrix.read(f)).isInstanceOf(BadInputException.class).hasMessageContaining(f.toString()).hasMessageContaining("not found");
        Files.writeString(f, "{\"format\": \"something\"}");
        assertThatThrownBy(() -> Imatrix.read(f)).isInstanceOf(BadInputException.class).hasMessageContaining("x.json").hasMessageContaining("grok-imatrix");
        Files.writeString(f, "not json");
        assertThatThrownBy(() -> Imatrix.read(f)).isInstanceOf(BadInputException.class).hasMessageContaining("invalid JSON");
        sample().write(f);
        // A changed array no longer matches its checksum.
        Path arr = tmp.resolve("x.json.down_in.npy");
        byte[] b = Files.readAllBytes(arr);
        b[b.length - 1] ^= 1;
        Files.write(arr, b);
        assertThatThrownBy(() -> Imatrix.read(f)).isInstanceOf(BadInputException.class).hasMessageContaining("SHA-256");
        Files.delete(arr);
        assertThatThrownBy(() -> Imatrix.read(f)).isInstanceOf(BadInputException.class).hasMessageContaining("missing");
        // Wrong model shape.
        sample().write(f);
        Imatrix m = Imatrix.read(f);
        assertThatThrownBy(() -> m.checkModel(f, 2, 3, 8, 32)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("ffn=16").hasMessageContaining("ffn=32");
        m.checkModel(f, 2, 3, 8, 16);
    }
}
