package grokkit.pickle;

import grokkit.pickle.PickleValue.Bytes;
import grokkit.pickle.PickleValue.Container;
import grokkit.pickle.PickleValue.Dict;
import grokkit.pickle.PickleValue.Global;
import grokkit.pickle.PickleValue.PyList;
import grokkit.pickle.PickleValue.Str;
import grokkit.pickle.PickleValue.Tuple;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static grokkit.pickle.PickleOpcodes.*;

/**
 * A restricted pickle interpreter: the stack machine of Python's {@code pickle} for the
 * opcodes of protocols 2-5 that checkpoint files use, with globals limited to
 * {@link AllowedGlobal}. It reads the file through a (mapped) {@link MemorySegment} and never
 * copies a bytes payload: BINBYTES & co. become {@link Bytes} references (offset, length),
 * and the reader jumps over them, so interpreting the header of a 3.2 GB file touches only
 * the header's bytes.
 *
 * <p>Every declared length is checked against the bytes left in the file before it is used;
 * stack, marks, memo, nesting, container sizes, string lengths and opcode count are bounded
 * ({@link PickleLimits}). Any violation is a {@link PickleException} naming the file and the
 * byte offset of the opcode.
 */
public final class PickleMachine {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int MAX_GLOBAL_LINE = 256;

    private final Path file;
    private final MemorySegment data;
    private final long size;
    private final PickleLimits limits;
    private final PickleCalls calls;

    private long pos;
    private long opStart;
    private int op;
    private final List<PickleValue> stack = new ArrayList<>();
    private int[] marks = new int[8];
    private int markCount;
    private final Map<Long, PickleValue> memo = new HashMap<>();

    private PickleMachine(Path file, MemorySegment data, PickleLimits limits) {
        this.file = file;
        this.data = data;
        this.size = data.byteSize();
        this.limits = limits;
        this.calls = new PickleCalls(data);
    }

    /** Interprets the pickle in {@code data} (the contents of {@code file}) and returns its value. */
    public static PickleValue run(Path file, MemorySegment data) throws PickleException {
        return run(file, data, PickleLimits.DEFAULT);
    }

    public static PickleValue run(Path file, MemorySegment data, PickleLimits limits) throws PickleException {
        return new PickleMachine(file, data, limits).run();
    }

    private PickleValue run() throws PickleException {
        if (size == 0) throw fail("empty file, not a pickle");
        op = u8();
        if (op != PROTO) throw fail(String.format("not a pickle of protocol 2 to 5: first byte is 0x%02x, expected PROTO (0x80)", op));
        need(1);
        int protocol = u8();
        if (protocol < 2 || protocol > 5) throw fail("pickle protocol " + protocol + " is not supported (2 to 5 are)");
        for (int count = 1; ; count++) {
            opStart = pos;
            if (pos >= size) throw fail("truncated: the file ends before the pickle's STOP opcode");
            if (count > limits.maxOpcodes()) throw fail("more than " + limits.maxOpcodes() + " opcodes; a checkpoint header needs far fewer");
            op = u8();
            if (op == STOP) return stop();
            execute();
        }
    }

    private PickleValue stop() throws PickleException {
        if (markCount != 0 || stack.size() != 1)
            throw fail("STOP with " + stack.size() + " values on the stack and " + markCount + " open MARKs (expected exactly one value)");
        if (pos != size) throw fail((size - pos) + " bytes of unexpected data after STOP");
        return stack.getFirst();
    }

    private void execute() throws PickleException {
        switch (op) {
            case FRAME -> {
                long len = u64();
                if (len > size - pos) throw fail("FRAME of " + len + " bytes runs past the end of the file (" + (size - pos) + " bytes left)");
            }
            case PROTO -> throw fail("PROTO in the middle of a pickle");
            case MARK -> {
                if (markCount == limits.maxMarks()) throw fail("more than " + limits.maxMarks() + " nested MARKs");
                if (markCount == marks.length) marks = Arrays.copyOf(marks, marks.length * 2);
                marks[markCount++] = stack.size();
            }
            case POP -> pop();
            case NONE -> push(PickleValue.None.NONE);
            case NEWTRUE -> push(new PickleValue.Bool(true));
            case NEWFALSE -> push(new PickleValue.Bool(false));
            case BININT -> push(new PickleValue.Int(i32()));
            case BININT1 -> push(new PickleValue.Int(u8()));
            case BININT2 -> push(new PickleValue.Int(u16()));
            case LONG1 -> push(new PickleValue.Int(longBytes(u8())));
            case LONG4 -> {
                long n = i32();
                if (n < 0) throw fail("LONG4 with negative length " + n);
                push(new PickleValue.Int(longBytes(n)));
            }
            case BINFLOAT -> {
                need(8);
                push(new PickleValue.Float(data.get(F64_BE, pos)));
                pos += 8;
            }
            case SHORT_BINUNICODE -> push(new Str(string(u8())));
            case BINUNICODE -> push(new Str(string(u32())));
            case BINUNICODE8 -> push(new Str(string(u64())));
            case SHORT_BINBYTES -> push(bytes(u8(), false));
            case BINBYTES -> push(bytes(u32(), false));
            case BINBYTES8 -> push(bytes(u64(), false));
            case BYTEARRAY8 -> push(bytes(u64(), true));
            case NEXT_BUFFER, READONLY_BUFFER -> throw fail(
                    "out-of-band buffer (" + name(op) + ") is not supported: the array's bytes are not in this file");
            case EMPTY_TUPLE -> push(tuple(List.of()));
            case TUPLE1 -> { PickleValue a = pop(); push(tuple(List.of(a))); }
            case TUPLE2 -> { PickleValue b = pop(), a = pop(); push(tuple(List.of(a, b))); }
            case TUPLE3 -> { PickleValue c = pop(), b = pop(), a = pop(); push(tuple(List.of(a, b, c))); }
            case TUPLE -> push(tuple(popMark()));
            case EMPTY_LIST -> push(new PyList());
            case LIST -> {
                PyList list = new PyList();
                for (PickleValue v : popMark()) append(list, v);
                push(list);
            }
            case APPEND -> { PickleValue v = pop(); append(top(PyList.class), v); }
            case APPENDS -> {
                List<PickleValue> items = popMark();
                PyList list = top(PyList.class);
                for (PickleValue v : items) append(list, v);
            }
            case EMPTY_DICT -> push(new Dict());
            case DICT -> {
                Dict dict = new Dict();
                setItems(dict, popMark());
                push(dict);
            }
            case SETITEM -> { PickleValue v = pop(), k = pop(); setItems(top(Dict.class), List.of(k, v)); }
            case SETITEMS -> {
                List<PickleValue> items = popMark();
                setItems(top(Dict.class), items);
            }
            case MEMOIZE -> memoPut(memo.size());
            case BINPUT -> memoPut(u8());
            case LONG_BINPUT -> memoPut(u32());
            case BINGET -> memoGet(u8());
            case LONG_BINGET -> memoGet(u32());
            case GLOBAL -> {
                String module = line(), name = line();
                push(global(module, name));
            }
            case STACK_GLOBAL -> {
                PickleValue name = pop(), module = pop();
                if (!(module instanceof Str m) || !(name instanceof Str n))
                    throw fail("STACK_GLOBAL needs two strings, got " + module.describe() + " and " + name.describe());
                push(global(m.value(), n.value()));
            }
            case REDUCE -> {
                PickleValue args = pop(), callable = pop();
                push(call(() -> calls.reduce(callable, args)));
            }
            case NEWOBJ -> {
                PickleValue args = pop(), cls = pop();
                push(call(() -> calls.newObj(cls, args)));
            }
            case BUILD -> {
                PickleValue state = pop();
                PickleValue target = top(PickleValue.class);
                call(() -> { calls.build(target, state); return target; });
            }
            default -> throw fail(String.format("opcode 0x%02x (%s) is not allowed in a checkpoint pickle", op, name(op)));
        }
    }

    // ---- globals and calls

    private PickleValue global(String module, String name) throws PickleException {
        AllowedGlobal g = AllowedGlobal.lookup(module, name);
        if (g != null) return new Global(g);
        String hint = module.equals("_codecs") && name.equals("encode")
                ? " (protocol 2 stores bytes as latin-1 text, which cannot be mapped in place; re-save with protocol 3 or higher)"
                : "";
        throw fail("global '" + printable(module) + "." + printable(name) + "' is not allowed" + hint
                + "; a checkpoint pickle may only name numpy's array reconstruction, numpy.dtype, ml_dtypes.bfloat16"
                + " and QuantizedWeight8bit");
    }

    private interface Call {
        PickleValue apply() throws PickleCalls.Refused;
    }

    private PickleValue call(Call c) throws PickleException {
        try {
            return c.apply();
        } catch (PickleCalls.Refused e) {
            throw fail(e.getMessage());
        }
    }

    // ---- stack, marks, memo

    private void push(PickleValue v) throws PickleException {
        if (stack.size() >= limits.maxStackDepth()) throw fail("stack deeper than " + limits.maxStackDepth());
        stack.add(v);
    }

    private int markBase() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private PickleValue pop() throws PickleException {
        if (stack.size() <= markBase()) throw fail(name(op) + " on an empty stack");
        return stack.removeLast();
    }

    private <T extends PickleValue> T top(Class<T> type) throws PickleException {
        if (stack.size() <= markBase()) throw fail(name(op) + " on an empty stack");
        PickleValue v = stack.getLast();
        if (!type.isInstance(v)) throw fail(name(op) + " on " + v.describe());
        return type.cast(v);
    }

    private List<PickleValue> popMark() throws PickleException {
        if (markCount == 0) throw fail(name(op) + " without a MARK");
        int base = marks[--markCount];
        List<PickleValue> tail = stack.subList(base, stack.size());
        List<PickleValue> items = new ArrayList<>(tail);
        tail.clear();
        return items;
    }

    private void memoPut(long index) throws PickleException {
        if (stack.size() <= markBase()) throw fail(name(op) + " on an empty stack");
        if (!memo.containsKey(index) && memo.size() >= limits.maxMemo()) throw fail("memo larger than " + limits.maxMemo() + " entries");
        memo.put(index, stack.getLast());
    }

    private void memoGet(long index) throws PickleException {
        PickleValue v = memo.get(index);
        if (v == null) throw fail(name(op) + " of memo entry " + index + ", which was never stored");
        push(v);
    }

    // ---- containers

    private Tuple tuple(List<PickleValue> items) throws PickleException {
        checkSize(items.size());
        Tuple t = new Tuple(items);
        checkDepth(t);
        return t;
    }

    private void append(PyList list, PickleValue v) throws PickleException {
        checkSize(list.size() + 1);
        list.add(v);
        checkDepth(list);
    }

    private void setItems(Dict dict, List<PickleValue> keysAndValues) throws PickleException {
        if (keysAndValues.size() % 2 != 0) throw fail(name(op) + " with an odd number of items");
        checkSize(dict.entryCount() + keysAndValues.size() / 2);
        for (int i = 0; i < keysAndValues.size(); i += 2) dict.put(keysAndValues.get(i), keysAndValues.get(i + 1));
        checkDepth(dict);
    }

    private void checkSize(int n) throws PickleException {
        if (n > limits.maxContainer()) throw fail("container with more than " + limits.maxContainer() + " items");
    }

    private void checkDepth(Container c) throws PickleException {
        if (c.depth() > limits.maxNesting()) throw fail("containers nested deeper than " + limits.maxNesting());
    }

    // ---- reading the file, every length checked first

    private void need(long n) throws PickleException {
        if (n > size - pos)
            throw fail("truncated: " + name(op) + " needs " + n + " bytes at byte " + pos + " but the file has only " + (size - pos) + " left");
    }

    private int u8() throws PickleException {
        need(1);
        return data.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
    }

    private int u16() throws PickleException {
        need(2);
        int v = data.get(U16, pos) & 0xffff;
        pos += 2;
        return v;
    }

    private long i32() throws PickleException {
        need(4);
        int v = data.get(I32, pos);
        pos += 4;
        return v;
    }

    private long u32() throws PickleException {
        return i32() & 0xffffffffL;
    }

    private long u64() throws PickleException {
        need(8);
        long v = data.get(I64, pos);
        pos += 8;
        if (v < 0) throw fail(name(op) + " declares a length of " + Long.toUnsignedString(v) + " bytes, more than any file holds");
        return v;
    }

    /** LONG1/LONG4 payload: little-endian two's complement, at most 8 bytes (a shape or index never needs more). */
    private long longBytes(long n) throws PickleException {
        if (n > 8) throw fail(name(op) + " integer of " + n + " bytes is too large (at most 8 bytes supported)");
        need(n);
        long v = 0;
        for (int i = 0; i < n; i++) v |= (data.get(ValueLayout.JAVA_BYTE, pos + i) & 0xffL) << (8 * i);
        if (n > 0 && n < 8 && (data.get(ValueLayout.JAVA_BYTE, pos + n - 1) & 0x80) != 0) v |= -1L << (8 * n);
        pos += n;
        return v;
    }

    private Bytes bytes(long n, boolean bytearray) throws PickleException {
        if (n > size - pos)
            throw fail(name(op) + " declares " + n + " bytes but the file has only " + (size - pos) + " left after byte " + pos);
        Bytes b = new Bytes(pos, n, bytearray);
        pos += n; // the payload is skipped, not read
        return b;
    }

    private String string(long n) throws PickleException {
        if (n > limits.maxStringBytes())
            throw fail(name(op) + " string of " + n + " bytes exceeds the " + limits.maxStringBytes() + "-byte limit for header strings");
        need(n);
        byte[] raw = data.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        boolean ascii = true;
        for (byte b : raw) ascii &= b >= 0;
        if (ascii) return new String(raw, StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw fail(name(op) + " string is not valid UTF-8");
        }
    }

    /** A newline-terminated line of GLOBAL (protocols 0-3 spell globals as text). */
    private String line() throws PickleException {
        long start = pos;
        while (true) {
            if (pos - start > MAX_GLOBAL_LINE) throw fail("GLOBAL name longer than " + MAX_GLOBAL_LINE + " bytes");
            if (pos >= size) throw fail("truncated: GLOBAL name runs to the end of the file");
            if (data.get(ValueLayout.JAVA_BYTE, pos) == '\n') break;
            pos++;
        }
        byte[] raw = data.asSlice(start, pos - start).toArray(ValueLayout.JAVA_BYTE);
        pos++;
        return new String(raw, StandardCharsets.UTF_8);
    }

    // ---- errors

    private PickleException fail(String problem) {
        return new PickleException(file, opStart, problem);
    }

    /** Keeps hostile names from injecting control characters into our messages. */
    private static String printable(String s) {
        return PickleValue.printable(s, 100);
    }
}
