package grokkit.runtime;

import grokkit.errors.BadInputException;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Text generation over a {@link Session}: the prompt in one prefill pass (matrix-matrix), then one
 * {@link Session#decode} per new token with the KV cache, each token drawn by a {@link Sampler}.
 * Stops at the end-of-sequence token, at the token limit, or when the context is full.
 * Same session state, prompt, settings and seed → same tokens.
 */
public final class Generator {
    private Generator() {}

    public enum Stop {
        /** The end-of-sequence token was drawn (it is included in the output ids). */
        EOS,
        /** {@code maxTokens} tokens were generated. */
        LIMIT,
        /** The session's context is full. */
        CONTEXT
    }

    /**
     * @param prompt       the prompt's ids
     * @param generated    the drawn ids (the EOS id last when {@code stop == EOS})
     * @param prefillNanos time of the prompt's prefill pass
     * @param decodeNanos  time of the decode phase: every {@code decode} call plus sampling
     * @param decodeSteps  {@code decode} calls made (tokens that went through the model one at a time)
     */
    public record Result(int[] prompt, int[] generated, Stop stop, long prefillNanos, long decodeNanos, int decodeSteps) {
        public double promptTokensPerSecond() {
            return prefillNanos == 0 ? 0 : prompt.length / (prefillNanos / 1e9);
        }

        public double decodeTokensPerSecond() {
            return decodeNanos == 0 ? 0 : decodeSteps / (decodeNanos / 1e9);
        }
    }

    /**
     * Generates up to {@code maxTokens} tokens after {@code prompt}.
     *
     * @param eosId   the end-of-sequence id; negative for none
     * @param onToken called with each drawn id as soon as it is drawn (for streaming)
     */
    public static Result generate(Session session, int[] prompt, int maxTokens, Sampler sampler, int eosId,
                                  IntConsumer onToken) throws BadInputException {
        if (maxTokens < 0) {
            throw new BadInputException("--max-tokens must be >= 0, got " + maxTokens);
        }
        long t0 = System.nanoTime();
        float[] logits = session.prefill(prompt);
        long t1 = System.nanoTime();
        int[] out = new int[Math.max(1, Math.min(maxTokens, 1 << 16))];
        int count = 0, steps = 0;
        Stop stop = Stop.LIMIT;
        while (count < maxTokens) {
            int token = sampler.sample(logits);
            if (count == out.length) {
                out = Arrays.copyOf(out, count * 2);
            }
            out[count++] = token;
            onToken.accept(token);
            if (token == eosId) {
                stop = Stop.EOS;
                break;
            }
            if (count == maxTokens) {
                break; // no forward pass for a token nobody will sample from
            }
            if (session.remaining() <= 0) {
                stop = Stop.CONTEXT;
                break;
            }
            logits = session.decode(token);
            steps++;
        }
        long t2 = System.nanoTime();
        return new Result(prompt.clone(), Arrays.copyOf(out, count), stop, t1 - t0, t2 - t1, steps);
    }
}
