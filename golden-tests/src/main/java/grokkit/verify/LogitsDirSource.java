package grokkit.verify;

import grokkit.errors.BadInputException;
import grokkit.io.Npy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Precomputed logits of another runtime (llama.cpp, a JAX port, an older build of ours), one
 * {@code .npy} file per golden prompt named exactly like the golden file of the compared mode
 * (e.g. {@code p3.f32.npy}), float32 {@code [T, vocab]}.
 */
public final class LogitsDirSource implements LogitSource {
    private final Path dir;
    private final int vocab;
    private final Map<List<Integer>, GoldenSet.Prompt> byTokens = new HashMap<>();
    private final String mode;

    public LogitsDirSource(GoldenSet golden, Path dir, String mode) throws BadInputException {
        if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": logits directory does not exist");
        this.dir = dir;
        this.vocab = golden.vocabSize();
        this.mode = mode;
        for (GoldenSet.Prompt p : golden.prompts()) byTokens.putIfAbsent(key(p.tokens()), p);
    }

    /** The file expected for a prompt. */
    public Path file(GoldenSet.Prompt p) throws BadInputException {
        String name = p.files().get(mode);
        if (name == null) throw new BadInputException("golden prompt k=" + p.k() + " has no file name for mode '" + mode + "'");
        return dir.resolve(name);
    }

    @Override
    public float[][] logits(int[] tokens) throws IOException {
        GoldenSet.Prompt p = byTokens.get(key(tokens));
        if (p == null) throw new IllegalArgumentException("not a golden prompt: " + Arrays.toString(tokens));
        Path f = file(p);
        if (!Files.isRegularFile(f)) {
            throw new BadInputException(f + ": missing (expected our logits for golden prompt k=" + p.k()
                    + ", float32 [" + tokens.length + ", " + vocab + "])");
        }
        return Npy.readMatrix(f, tokens.length, vocab);
    }

    private static List<Integer> key(int[] tokens) {
        return Arrays.stream(tokens).boxed().toList();
    }
}
