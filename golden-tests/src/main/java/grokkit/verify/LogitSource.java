package grokkit.verify;

import java.io.IOException;

/**
 * Anything that turns a prompt into next-token logits: the Java runtime over a converted model
 * (adapted with a lambda, e.g. {@code tokens -> model.forward(tokens)}), precomputed {@code .npy}
 * files of another runtime, or a test double.
 */
@FunctionalInterface
public interface LogitSource {
    /**
     * Logits of a full forward pass over {@code tokens}: float32 {@code [tokens.length, vocab]},
     * row {@code t} is the next-token distribution after {@code tokens[0..t]}.
     */
    float[][] logits(int[] tokens) throws IOException;
}
