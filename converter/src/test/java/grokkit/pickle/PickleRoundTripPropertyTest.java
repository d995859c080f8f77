package grokkit.pickle;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property: for random dtypes, shapes (rank 0-4, zero-sized dimensions included), payloads,
 * protocols and numpy spellings, the interpreter's descriptor points at exactly the payload
 * the writer put in the file.
 */
class PickleRoundTripPropertyTest {
    private static final String[] CODES = {"f4", "i1", "u1", "f2", "f8", "i2", "i4", "i8", "b1", "bfloat16"};

    @Test
    void descriptorsPointAtExactlyThePayload() throws Exception {
        SplittableRandom r = new SplittableRandom(20261128);
        for (int c = 0; c < 3000; c++) {
            String code = CODES[r.nextInt(CODES.length)];
            int itemSize = code.equals("bfloat16") ? 2 : Integer.parseInt(code.substring(1));
            char order = itemSize == 1 ? '|' : (r.nextBoolean() ? '<' : '>');
            long[] shape = new long[r.nextInt(5)];
            long count = 1;
            for (int i = 0; i < shape.length; i++) count *= shape[i] = r.nextInt(r.nextInt(10) == 0 ? 1 : 7);
            byte[] payload = new byte[(int) count * itemSize];
            r.nextBytes(payload);
            int protocol = 3 + r.nextInt(3);
            PickleWriter.NumpyStyle style = r.nextBoolean() ? PickleWriter.NumpyStyle.NUMPY1 : PickleWriter.NumpyStyle.NUMPY2;
            byte[] file = new PickleWriter(protocol, style).array(code, order, shape, payload).stop().toByteArray();

            PickleValue v = PickleMachine.run(Path.of("p.pkl"), MemorySegment.ofArray(file));
            NumpyArray a = ((PickleValue.ArrayValue) v).array();
            String what = code + order + Arrays.toString(shape) + " protocol " + protocol + " " + style;
            assertThat(a.dtype()).as(what).isEqualTo(new NumpyDtype(code, order, itemSize));
            assertThat(a.shape()).as(what).containsExactly(shape);
            assertThat(a.dataLength()).as(what).isEqualTo(payload.length);
            assertThat(Arrays.copyOfRange(file, (int) a.dataOffset(), (int) a.dataOffset() + payload.length)).as(what).isEqualTo(payload);
        }
    }
}
