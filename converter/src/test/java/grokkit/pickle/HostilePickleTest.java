package grokkit.pickle;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static grokkit.pickle.PickleOpcodes.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/** Hand-built malformed and malicious pickles: each must be refused with a precise message. */
class HostilePickleTest {
    private static final Path FILE = Path.of("/ckpt/tensor00007_000");

    private static PickleValue run(byte[] data) throws PickleException {
        return PickleMachine.run(FILE, MemorySegment.ofArray(data));
    }

    private static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) out[i] = (byte) b[i];
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static void refused(byte[] data, String expectedMessage) {
        assertThatThrownBy(() -> run(data)).isInstanceOf(PickleException.class).hasMessage(expectedMessage);
    }

    private static void refusedContaining(byte[] data, String... parts) {
        assertThatThrownBy(() -> run(data)).isInstanceOf(PickleException.class)
                .hasMessageStartingWith(FILE + ": byte ").hasMessageContainingAll(parts);
    }

    private static byte[] validArray() {
        return new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '<', new long[]{2, 3}, new byte[24]).stop().toByteArray();
    }

    @Test
    void theValidBaselineIsAccepted() throws Exception {
        assertThat(run(validArray())).isInstanceOf(PickleValue.ArrayValue.class);
    }

    @Test
    void emptyFileAndRandomBytes() {
        refused(new byte[0], FILE + ": byte 0: empty file, not a pickle");
        refused("hello world".getBytes(), FILE + ": byte 0: not a pickle of protocol 2 to 5: first byte is 0x68, expected PROTO (0x80)");
        refused(bytes(0x80, 1, '.'), FILE + ": byte 0: pickle protocol 1 is not supported (2 to 5 are)");
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[1 + r.nextInt(200)];
            for (int j = 0; j < junk.length; j++) junk[j] = (byte) r.nextInt(256);
            if (i % 2 == 0) { junk[0] = (byte) 0x80; if (junk.length > 1) junk[1] = (byte) (2 + r.nextInt(4)); }
            assertThatThrownBy(() -> run(junk)).isInstanceOf(PickleException.class);
        }
    }

    @Test
    void everyTruncationOfAValidPickleIsRefused() {
        for (int protocol = 3; protocol <= 5; protocol++) {
            byte[] valid = new PickleWriter(protocol, PickleWriter.NumpyStyle.NUMPY1)
                    .quantizedWeight("__main__", new long[]{2, 8, 3}, new byte[48], new long[]{2, 8, 3}, new byte[96])
                    .stop().toByteArray();
            for (int n = 0; n < valid.length; n++) {
                byte[] cut = Arrays.copyOf(valid, n);
                assertThatThrownBy(() -> run(cut)).as("prefix of %d bytes", n).isInstanceOf(PickleException.class)
                        .hasMessageStartingWith(FILE + ": byte ");
            }
        }
        byte[] unframed = new PickleWriter(3, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '<', new long[]{100}, new byte[400]).stop().toByteArray();
        refusedContaining(Arrays.copyOf(unframed, 200), "BINBYTES declares 400 bytes but the file has only");
    }

    @Test
    void trailingDataAfterStop() {
        refused(concat(validArray(), bytes(0, 0, 0)), FILE + ": byte " + (validArray().length - 1) + ": 3 bytes of unexpected data after STOP");
    }

    @Test
    void declaredLengthsPastTheEndOfFile() {
        refused(bytes(0x80, 4, BINBYTES, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3),
                FILE + ": byte 2: BINBYTES declares 2147483647 bytes but the file has only 3 left after byte 7");
        refused(bytes(0x80, 4, BINBYTES8, 0, 0, 0, 0, 0, 0, 0, 1),
                FILE + ": byte 2: BINBYTES8 declares 72057594037927936 bytes but the file has only 0 left after byte 11");
        refused(bytes(0x80, 5, BYTEARRAY8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
                FILE + ": byte 2: BYTEARRAY8 declares a length of 18446744073709551615 bytes, more than any file holds");
        refused(bytes(0x80, 4, FRAME, 100, 0, 0, 0, 0, 0, 0, 0, NONE, STOP),
                FILE + ": byte 2: FRAME of 100 bytes runs past the end of the file (2 bytes left)");
        refused(bytes(0x80, 4, SHORT_BINUNICODE, 10, 'a', 'b'),
                FILE + ": byte 2: truncated: SHORT_BINUNICODE needs 10 bytes at byte 4 but the file has only 2 left");
        refused(bytes(0x80, 4, BINUNICODE, 0, 0, 0, 0x10, 'a'),
                FILE + ": byte 2: BINUNICODE string of 268435456 bytes exceeds the 4096-byte limit for header strings");
        refused(bytes(0x80, 4, LONG4, 0, 0, 0, 0x40),
                FILE + ": byte 2: LONG4 integer of 1073741824 bytes is too large (at most 8 bytes supported)");
        refused(bytes(0x80, 4, GLOBAL, 'o', 's'), FILE + ": byte 2: truncated: GLOBAL name runs to the end of the file");
    }

    @Test
    void deepNestingIsBounded() {
        ByteArrayOutputStream marks = new ByteArrayOutputStream();
        marks.writeBytes(bytes(0x80, 4));
        for (int i = 0; i < 100_000; i++) marks.write(MARK);
        refused(marks.toByteArray(), FILE + ": byte 66: more than 64 nested MARKs");

        ByteArrayOutputStream tuples = new ByteArrayOutputStream();
        tuples.writeBytes(bytes(0x80, 4, NONE));
        for (int i = 0; i < 100_000; i++) tuples.write(TUPLE1);
        refused(tuples.toByteArray(), FILE + ": byte 35: containers nested deeper than 32");

        // A list appended into itself through the memo is a cycle; its depth grows with every
        // APPEND and is refused, so nothing ever walks it endlessly.
        ByteArrayOutputStream self = new ByteArrayOutputStream();
        self.writeBytes(bytes(0x80, 4, EMPTY_LIST, MEMOIZE));
        for (int i = 0; i < 40; i++) self.writeBytes(bytes(BINGET, 0, APPEND));
        self.write(STOP);
        byte[] selfAppend = self.toByteArray();
        refusedContaining(selfAppend, "nested deeper than 32");
    }

    @Test
    void stackMemoAndOpcodeCountAreBounded() {
        ByteArrayOutputStream stack = new ByteArrayOutputStream();
        stack.writeBytes(bytes(0x80, 4));
        for (int i = 0; i < 5000; i++) stack.write(NONE);
        refused(stack.toByteArray(), FILE + ": byte 1002: stack deeper than 1000");

        ByteArrayOutputStream memo = new ByteArrayOutputStream();
        memo.writeBytes(bytes(0x80, 4, NONE));
        for (int i = 0; i < 20_000; i++) memo.write(MEMOIZE);
        refused(memo.toByteArray(), FILE + ": byte 10003: memo larger than 10000 entries");

        ByteArrayOutputStream ops = new ByteArrayOutputStream();
        ops.writeBytes(bytes(0x80, 4, NONE));
        for (int i = 0; i < 200_000; i++) ops.writeBytes(bytes(FRAME, 0, 0, 0, 0, 0, 0, 0, 0));
        assertThatThrownBy(() -> run(ops.toByteArray())).isInstanceOf(PickleException.class)
                .hasMessageContaining("more than 100000 opcodes");

        ByteArrayOutputStream wide = new ByteArrayOutputStream();
        wide.writeBytes(bytes(0x80, 4, EMPTY_LIST, MARK));
        for (int i = 0; i < 999; i++) wide.write(NONE);
        wide.writeBytes(bytes(APPENDS, MARK));
        for (int i = 0; i < 10; i++) wide.write(NONE);
        wide.writeBytes(bytes(APPENDS, STOP));
        refusedContaining(wide.toByteArray(), "container with more than 1000 items");
    }

    @Test
    void opcodesOutsideTheSubsetAreRefusedByName() {
        refused(bytes(0x80, 4, 'i', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', STOP),
                FILE + ": byte 2: opcode 0x69 (INST) is not allowed in a checkpoint pickle");
        refused(bytes(0x80, 4, 'P', '1', '\n', STOP), FILE + ": byte 2: opcode 0x50 (PERSID) is not allowed in a checkpoint pickle");
        refused(bytes(0x80, 4, 0x82, 1, STOP), FILE + ": byte 2: opcode 0x82 (EXT1) is not allowed in a checkpoint pickle");
        refused(bytes(0x80, 4, 0x92, STOP), FILE + ": byte 2: opcode 0x92 (NEWOBJ_EX) is not allowed in a checkpoint pickle");
        refused(bytes(0x80, 4, 0xff), FILE + ": byte 2: opcode 0xff (unknown) is not allowed in a checkpoint pickle");
        refused(bytes(0x80, 4, 'S', '\'', 'x', '\'', '\n', STOP), FILE + ": byte 2: opcode 0x53 (STRING) is not allowed in a checkpoint pickle");
    }

    @Test
    void allowedGlobalsCannotBeMisused() {
        PickleWriter reduceNdarray = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        reduceNdarray.global("numpy", "ndarray").raw(EMPTY_TUPLE, REDUCE, STOP);
        refusedContaining(reduceNdarray.toByteArray(), "calling numpy.ndarray is not allowed");

        PickleWriter newobjDtype = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        newobjDtype.global("numpy", "dtype").raw(EMPTY_TUPLE, NEWOBJ, STOP);
        refusedContaining(newobjDtype.toByteArray(), "NEWOBJ of numpy.dtype is not allowed (only QuantizedWeight8bit)");

        PickleWriter objectDtype = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        objectDtype.global("numpy", "dtype").string("O8").raw(NEWFALSE, NEWTRUE, TUPLE3, REDUCE, STOP);
        refusedContaining(objectDtype.toByteArray(), "numpy.dtype('O8'): unsupported dtype");

        PickleWriter buildGlobal = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        buildGlobal.global("numpy", "ndarray").raw(EMPTY_DICT, BUILD, STOP);
        refusedContaining(buildGlobal.toByteArray(), "BUILD of numpy.ndarray is not allowed");

        PickleWriter reduceNonGlobal = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        reduceNonGlobal.string("os.system").raw(EMPTY_TUPLE, REDUCE, STOP);
        refusedContaining(reduceNonGlobal.toByteArray(), "REDUCE of 'os.system', which is not a callable global");

        PickleWriter escape = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        escape.string("\u001b]0;pwned\u0007").raw(EMPTY_TUPLE, REDUCE, STOP);
        refusedContaining(escape.toByteArray(), "REDUCE of '\\x1b]0;pwned\\x07', which is not a callable global");

        PickleWriter unknownClass = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        unknownClass.global("__main__", "Evil").raw(EMPTY_TUPLE, NEWOBJ, STOP);
        refusedContaining(unknownClass.toByteArray(), "global '__main__.Evil' is not allowed");

        PickleWriter controlChars = new PickleWriter(3, PickleWriter.NumpyStyle.NUMPY2);
        controlChars.raw(GLOBAL).raw("os\u001b[2J\nsystem\n".getBytes()).raw(STOP);
        refusedContaining(controlChars.toByteArray(), "global 'os\\x1b[2J.system' is not allowed");
    }

    @Test
    void arrayPayloadMustMatchItsShape() {
        byte[] wrongLength = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '<', new long[]{2, 3}, new byte[20]).stop().toByteArray();
        refusedContaining(wrongLength, "array dtype('<f4') of shape (2, 3) needs 24 bytes but its payload has 20");
        byte[] overflow = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '<', new long[]{1L << 40, 1L << 40}, new byte[4]).stop().toByteArray();
        refusedContaining(overflow, "overflows");
        byte[] negative = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '<', new long[]{-1}, new byte[0]).stop().toByteArray();
        refusedContaining(negative, "must hold non-negative integers");
    }

    @Test
    void memoAndStackMisuse() {
        refused(bytes(0x80, 4, BINGET, 5, STOP), FILE + ": byte 2: BINGET of memo entry 5, which was never stored");
        refused(bytes(0x80, 4, TUPLE3, STOP), FILE + ": byte 2: TUPLE3 on an empty stack");
        refused(bytes(0x80, 4, NONE, MARK, POP, STOP), FILE + ": byte 4: POP on an empty stack");
        refused(bytes(0x80, 4, TUPLE, STOP), FILE + ": byte 2: TUPLE without a MARK");
        refused(bytes(0x80, 4, NONE, NONE, STOP), FILE + ": byte 4: STOP with 2 values on the stack and 0 open MARKs (expected exactly one value)");
        refused(bytes(0x80, 4, NONE, APPEND, STOP), FILE + ": byte 3: APPEND on an empty stack");
        refused(bytes(0x80, 4, NONE, NONE, APPEND, STOP), FILE + ": byte 4: APPEND on None");
        refused(bytes(0x80, 4, SHORT_BINUNICODE, 2, 0xc3, 0x28, STOP), FILE + ": byte 2: SHORT_BINUNICODE string is not valid UTF-8");
    }

    @Test
    void nothingIsExecuted() {
        // Whatever the pickle names, the interpreter has no code path that loads a class or calls
        // a method by name: a refused global never reaches further than AllowedGlobal.lookup.
        for (String[] g : new String[][]{{"os", "system"}, {"builtins", "eval"}, {"subprocess", "Popen"},
                {"java.lang.Runtime", "getRuntime"}, {"numpy", "load"}}) {
            PickleWriter w = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
            w.global(g[0], g[1]).string("touch /tmp/grokkit-pwned").raw(TUPLE1, REDUCE, STOP);
            try {
                run(w.toByteArray());
                fail("accepted " + g[0] + "." + g[1]);
            } catch (PickleException e) {
                assertThat(e.getMessage()).contains("global '" + g[0] + "." + g[1] + "' is not allowed");
            }
        }
        assertThat(Path.of("/tmp/grokkit-pwned")).doesNotExist();
    }
}
