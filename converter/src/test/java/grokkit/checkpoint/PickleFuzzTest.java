package grokkit.checkpoint;

import grokkit.errors.BadInputException;
import grokkit.pickle.PickleMachine;
import grokkit.pickle.PickleValue;
import grokkit.pickle.PickleWriter;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Mutation fuzzing: valid checkpoint pickles in every supported spelling (Java-written, and
 * the Python-written ones of {@link grokkit.pickle.PythonPickles}), mutated in many
 * ways, fed to the interpreter and the tensor decoder. The only acceptable failure is the
 * reader's own {@link BadInputException}; anything else (an IndexOutOfBounds, an
 * OutOfMemoryError, a StackOverflowError, a hang) is a bug. The seed of the run is printed
 * and can be fixed with -Dgrok.fuzz.seed=N to replay a failure.
 */
class PickleFuzzTest {
    private static final int CASES = 100_000;
    private static final Path FILE = Path.of("fuzz.pkl");

    private static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(42);
        for (int protocol = 3; protocol <= 5; protocol++) {
            for (PickleWriter.NumpyStyle style : PickleWriter.NumpyStyle.values()) {
                SyntheticCheckpoint.Style s = new SyntheticCheckpoint.Style(protocol, style, protocol == 4 ? "__main__" : "model");
                seeds.add(SyntheticCheckpoint.f32File(s, new long[]{3, 5}, r));
                seeds.add(SyntheticCheckpoint.f32File(s, new long[]{7}, r));
                seeds.add(SyntheticCheckpoint.qw8File(s, new long[]{2, 8, 3}, 8, r));
                seeds.add(SyntheticCheckpoint.qw8File(s, new long[]{4, 6}, 1, r));
            }
        }
        seeds.addAll(grokkit.pickle.PythonPickles.all());
        return seeds;
    }

    /** Opcode bytes and boundary values that make mutations hit interesting paths. */
    private static final int[] INTERESTING = {0x00, 0x01, 0x7f, 0x80, 0xff, '(', '.', 't', 'b', 'R', 'u', 's', 'a', 'e',
            'h', 'j', 'q', 'r', 'J', 'K', 'M', 'N', 'X', 'B', 'C', ')', ']', '}', 0x81, 0x85, 0x86, 0x87, 0x88, 0x89,
            0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 'c', 'i', 'o'};

    static byte[] mutate(byte[] seed, byte[] other, SplittableRandom r) {
        byte[] b = seed.clone();
        int rounds = 1 + r.nextInt(4);
        for (int k = 0; k < rounds && b.length > 0; k++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(8)) {
                case 0 -> b[at] = (byte) r.nextInt(256);
                case 1 -> b[at] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
                case 2 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 3 -> b = Arrays.copyOf(b, at); // truncate
                case 4 -> { // delete a range
                    int len = Math.min(b.length - at, 1 + r.nextInt(8));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 5 -> { // insert an opcode
                    byte[] c = new byte[b.length + 1];
                    System.arraycopy(b, 0, c, 0, at);
                    c[at] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
                    System.arraycopy(b, at, c, at + 1, b.length - at);
                    b = c;
                }
                case 6 -> { // duplicate a range (repeats opcodes, memo puts, marks)
                    int len = Math.min(b.length - at, 1 + r.nextInt(16));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at + len);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                }
                default -> { // splice the tail of another seed
                    int from = r.nextInt(other.length);
                    byte[] c = Arrays.copyOf(b, at + other.length - from);
                    System.arraycopy(other, from, c, at, other.length - from);
                    b = c;
                }
            }
        }
        return b;
    }

    @Test
    void mutatedPicklesOnlyEverRaiseTheReadersOwnError() {
        long seed = Long.getLong("grok.fuzz.seed", System.nanoTime());
        System.out.println("PickleFuzzTest seed: " + seed + " (replay with -Dgrok.fuzz.seed=" + seed + ")");
        SplittableRandom r = new SplittableRandom(seed);
        List<byte[]> seeds = seeds();
        int accepted = 0, refused = 0;
        for (int i = 0; i < CASES; i++) {
            byte[] input = mutate(seeds.get(r.nextInt(seeds.size())), seeds.get(r.nextInt(seeds.size())), r);
            try {
                PickleValue v = PickleMachine.run(FILE, MemorySegment.ofArray(input));
                TensorFileReader.decode(0, FILE, v);
                v.describe();
                accepted++;
            } catch (BadInputException e) {
                if (!e.getMessage().startsWith(FILE.toString())) fail("case " + i + ": message does not name the file: " + e.getMessage());
                refused++;
            } catch (Throwable t) {
                fail("case " + i + " (seed " + seed + "): " + t + " for input " + HexFormat.of().formatHex(input), t);
            }
        }
        System.out.println("PickleFuzzTest: " + CASES + " cases, " + accepted + " accepted, " + refused + " refused");
        assertThat(accepted + refused).isEqualTo(CASES);
        assertThat(refused).as("mutations must mostly break the pickle").isGreaterThan(CASES / 2);
    }
}
