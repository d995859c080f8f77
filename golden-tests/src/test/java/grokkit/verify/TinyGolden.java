package grokkit.verify;

import grokkit.io.Npy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Writes a small synthetic golden directory (golden.json + .npy) for tests. */
final class TinyGolden {
    final Path dir;
    final int vocab;
    final List<int[]> tokens = new ArrayList<>();
    final List<float[][]> f32 = new ArrayList<>();

    private TinyGolden(Path dir, int vocab) {
        this.dir = dir;
        this.vocab = vocab;
    }

    /** Prompts of the given lengths with seeded random logits (std ~3, like the fixtures). */
    static TinyGolden write(Path dir, int vocab, long seed, int... lengths) throws IOException {
        TinyGolden g = new TinyGolden(dir, vocab);
        Random r = new Random(seed);
        Files.createDirectories(dir);
        StringBuilder prompts = new StringBuilder();
        for (int k = 0; k < lengths.length; k++) {
            int[] toks = new int[lengths[k]];
            float[][] x = new float[lengths[k]][vocab];
            for (int t = 0; t < toks.length; t++) {
                toks[t] = r.nextInt(vocab);
                for (int i = 0; i < vocab; i++) x[t][i] = (float) (3 * r.nextGaussian());
            }
            g.tokens.add(toks);
            g.f32.add(x);
            Npy.write(dir.resolve("p" + k + ".f32.npy"), x);
            Npy.write(dir.resolve("p" + k + ".bf16.npy"), bf16(x));
            if (k > 0) prompts.append(", ");
            prompts.append("{\"k\": ").append(k).append(", \"tokens\": ").append(java.util.Arrays.toString(toks))
                    .append(", \"length\": ").append(toks.length)
                    .append(", \"shape\": [").append(toks.length).append(", ").append(vocab).append("]")
                    .append(", \"files\": {\"bf16\": \"p").append(k).append(".bf16.npy\", \"f32\": \"p").append(k)
                    .append(".f32.npy\"}")
                    .append(", \"sha256\": {\"bf16\": \"").append(GoldenSet.sha256(dir.resolve("p" + k + ".bf16.npy")))
                    .append("\", \"f32\": \"").append(GoldenSet.sha256(dir.resolve("p" + k + ".f32.npy"))).append("\"}}");
        }
        Files.writeString(dir.resolve("golden.json"), "{\"config\": {\"vocab_size\": " + vocab + "}, "
                + "\"modes\": {\"bf16\": \"test\", \"f32\": \"test\"}, "
                + "\"logits_layout\": \"float32 [T, vocab_size]\", \"prompts\": [" + prompts + "]}");
        return g;
    }

    /** Rounds to bfloat16 (nearest even), kept as float32. */
    static float[][] bf16(float[][] x) {
        float[][] y = new float[x.length][];
        for (int t = 0; t < x.length; t++) {
            y[t] = new float[x[t].length];
            for (int i = 0; i < x[t].length; i++) {
                int b = Float.floatToRawIntBits(x[t][i]);
                b = (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
                y[t][i] = Float.intBitsToFloat(b);
            }
        }
        return y;
    }

    /** A copy of the f32 logits with {@code delta} added to every logit's column {@code col}. */
    float[][] shifted(int k, int col, float delta) {
        float[][] x = f32.get(k);
        float[][] y = new float[x.length][];
        for (int t = 0; t < x.length; t++) {
            y[t] = x[t].clone();
            y[t][col] += delta;
        }
        return y;
    }
}
