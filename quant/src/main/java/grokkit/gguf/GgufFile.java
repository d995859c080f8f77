package grokkit.gguf;

import grokkit.errors.BadInputException;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GGUF file's header, read and checked (specification versions 2 and 3): metadata, tensor
 * infos, where the data starts. Tensor data is not read; {@link #dataOffset} gives its place.
 *
 * <p>Everything is checked against the file before it is believed: the magic and version,
 * counts and string/array lengths against the bytes that remain (a count that could not fit is
 * refused before anything is allocated for it), value and tensor types against the known ones,
 * dimensions (1–4, each ≥ 1, rows fitting the type's block), and every tensor's data against
 * the alignment, the previous tensor and the end of the file. Any failure is a
 * {@link BadInputException} naming the file and the problem.
 */
public final class GgufFile {
    /** Longest key GGUF allows. */
    static final int MAX_KEY = 65535;
    static final int MAX_DIMS = 4;

    private final Path path;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final List<GgufTensorInfo> tensors;
    private final int alignment;
    private final long dataStart;
    private final long fileSize;

    private GgufFile(Path path, int version, Map<String, GgufValue> metadata, List<GgufTensorInfo> tensors, int alignment,
                     long dataStart, long fileSize) {
        this.path = path;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = List.copyOf(tensors);
        this.alignment = alignment;
        this.dataStart = dataStart;
        this.fileSize = fileSize;
    }

    public Path path() { return path; }
    public int version() { return version; }
    /** Every key, in file order. */
    public Map<String, GgufValue> metadata() { return metadata; }
    public List<GgufTensorInfo> tensors() { return tensors; }
    public int alignment() { return alignment; }
    /** Offset of the data section from the start of the file. */
    public long dataStart() { return dataStart; }
    public long fileSize() { return fileSize; }

    /** The value of {@code key}, or null. */
    public GgufValue get(String key) {
        return metadata.get(key);
    }

    /** The tensor named {@code name}, or null. */
    public GgufTensorInfo tensor(String name) {
        for (GgufTensorInfo t : tensors) if (t.name().equals(name)) return t;
        return null;
    }

    /** File offset of a tensor's first data byte. */
    public long dataOffset(GgufTensorInfo t) {
        return dataStart + t.offset();
    }

    /** Reads and checks the header of {@code file}. */
    public static GgufFile read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new BadInputException(file + ": no such file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return new Parser(file, ch).parse();
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        }
    }

    /** Reads the header fields in order from a buffered window over the channel. */
    private static final class Parser {
        private final Path file;
        private final FileChannel ch;
        private final long size;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        /** File offset of {@code buf}'s first byte. */
        private long bufStart;

        Parser(Path file, FileChannel ch) throws IOException {
            this.file = file;
            this.ch = ch;
            this.size = ch.size();
            buf.limit(0);
        }

        private BadInputException bad(String what) {
            return new BadInputException(file + ": not a valid GGUF file: " + what);
        }

        long position() {
            return bufStart + buf.position();
        }

        long remaining() {
            return size - position();
        }

        private void need(int n, String what) throws IOException {
            if (buf.remaining() >= n) return;
            long pos = position();
            if (size - pos < n) throw bad("truncated: " + what + " at byte " + pos + " runs past the end of the file (" + size + " bytes)");
            buf.compact(); // the unread bytes move to the front: the window now starts at pos
            bufStart = pos;
            while (buf.position() < n) {
                if (ch.read(buf, pos + buf.position()) < 0) throw new EOFException(file + ": ended while reading " + what);
            }
            buf.flip();
        }

        int u8(String what) throws IOException { need(1, what); return buf.get() & 0xff; }
        int u16(String what) throws IOException { need(2, what); return buf.getShort() & 0xffff; }
        int i32(String what) throws IOException { need(4, what); return buf.getInt(); }
        long u32(String what) throws IOException { return i32(what) & 0xffffffffL; }
        long i64(String what) throws IOException { need(8, what); return buf.getLong(); }

        /** A u64 count or length that must fit in the remaining bytes at {@code minBytes} each. */
        long count(String what, long minBytes) throws IOException {
            long n = i64(what);
            if (n < 0 || (minBytes > 0 && n > remaining() / minBytes))
                throw bad(what + " " + Long.toUnsignedString(n) + " at byte " + (position() - 8) + " cannot fit in the "
                        + remaining() + " bytes that follow (truncated or corrupt file)");
            return n;
        }

        String string(String what, int max) throws IOException {
            long n = count(what + " length", 1);
            if (n > max) throw bad(what + " of " + n + " bytes at byte " + (position() - 8) + " (at most " + max + " allowed)");
            byte[] b = new byte[(int) n];
            int done = 0;
            while (done < n) {
                need(1, what);
                int k = Math.min(buf.remaining(), (int) n - done);
                buf.get(b, done, k);
                done += k;
            }
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw bad(what + " at byte " + (position() - n) + " is not UTF-8");
            }
        }

        GgufFile parse() throws IOException {
            if (size < 24) throw bad("truncated: " + size + " bytes, shorter than a GGUF header (24 bytes)");
            int magic = i32("magic");
            if (magic != GgufWriter.MAGIC)
                throw bad(String.format("bad magic 0x%08x (a GGUF file starts with the bytes \"GGUF\")", magic));
            int version = i32("version");
            if (version != 2 && version != 3) throw bad("unsupported GGUF version " + version + " (this reader reads versions 2 and 3)");
            // Each tensor info takes at least 8 (name length) + 4 + 8 + 4 + 8 bytes; each key/value at least 8 + 4 + 1.
            long nTensors = count("tensor count", 32);
            long nKv = count("metadata key/value count", 13);
            Map<String, GgufValue> kv = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                long at = position();
                String key = string("key " + i, MAX_KEY);
                if (kv.containsKey(key)) throw bad("duplicate key '" + key + "' at byte " + at);
                kv.put(key, value(key));
            }
            int alignment = GgufWriter.DEFAULT_ALIGNMENT;
            GgufValue a = kv.get(GgufWriter.KEY_ALIGNMENT);
            if (a != null) {
                if (a.type() != GgufValueType.UINT32) throw bad(GgufWriter.KEY_ALIGNMENT + " is " + a.type().shortName() + ", must be u32");
                long v = a.asLong();
                if (v <= 0 || Long.bitCount(v) != 1 || v > (1 << 20)) throw bad(GgufWriter.KEY_ALIGNMENT + " " + v + " is not a power of two up to 1 MiB");
                alignment = (int) v;
            }
            List<GgufTensorInfo> infos = new ArrayList<>((int) Math.min(nTensors, 1 << 16));
            Set<String> names = new HashSet<>();
            for (long i = 0; i < nTensors; i++) {
                long at = position();
                String name = string("tensor " + i + " name", MAX_KEY);
                if (!names.add(name)) throw bad("duplicate tensor name '" + name + "' at byte " + at);
                long dims = u32(name + " dimension count");
                if (dims < 1 || dims > MAX_DIMS) throw bad("tensor '" + name + "' has " + dims + " dimensions (1 to " + MAX_DIMS + " allowed)");
                long[] ne = new long[(int) dims];
                long elements = 1;
                for (int d = 0; d < dims; d++) {
                    ne[d] = i64(name + " dimension " + d);
                    if (ne[d] < 1) throw bad("tensor '" + name + "' has dimension " + d + " = " + Long.toUnsignedString(ne[d]) + " (must be at least 1)");
                    if (elements > Long.MAX_VALUE / ne[d]) throw bad("tensor '" + name + "' has an absurd shape (more than 2^63 elements)");
                    elements *= ne[d];
                }
                int typeId = i32(name + " type");
                GgmlType type = GgmlType.byId(typeId);
                if (type == null) throw bad("tensor '" + name + "' has unknown ggml type id " + Integer.toUnsignedString(typeId));
                if (!type.fitsRow(ne[0]))
                    throw bad("tensor '" + name + "': rows of " + ne[0] + " values do not fit " + type.cliName() + " blocks of " + type.blockSize());
                long offset = i64(name + " data offset");
                if (offset < 0 || offset % alignment != 0)
                    throw bad("tensor '" + name + "' data offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
                GgufTensorInfo t = new GgufTensorInfo(name, ne, type, offset);
                try {
                    t.bytes();
                } catch (ArithmeticException e) {
                    throw bad("tensor '" + name + "' has an absurd size");
                }
                infos.add(t);
            }
            long dataStart = GgufWriter.pad(position(), alignment);
            long expected = 0;
            for (GgufTensorInfo t : infos) {
                if (t.offset() != expected)
                    throw bad("tensor '" + t.name() + "' data offset " + t.offset() + ", expected " + expected
                            + " (tensors must follow each other in order, each aligned to " + alignment + ")");
                long endOfData = dataStart + t.offset() + t.bytes();
                if (endOfData > size || endOfData < 0)
                    throw bad("tensor '" + t.name() + "' data [" + (dataStart + t.offset()) + ", " + endOfData + ") lies past the end of the file ("
                            + size + " bytes): truncated or offset past the end");
                expected = GgufWriter.pad(t.offset() + t.bytes(), alignment);
            }
            // Writers pad the last tensor too (ggml, gguf-py, this toolkit): a shorter file lost its end.
            if (!infos.isEmpty() && dataStart + expected > size)
                throw bad("truncated: the data section ends at byte " + (dataStart + expected) + ", the file has " + size + " bytes");
            return new GgufFile(file, version, kv, infos, alignment, dataStart, size);
        }

        private GgufValue value(String key) throws IOException {
            int typeId = i32(key + " value type");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) throw bad("key '" + key + "' has unknown value type " + Integer.toUnsignedString(typeId));
            if (type != GgufValueType.ARRAY) return new GgufValue(type, null, scalar(type, key));
            int elemId = i32(key + " array element type");
            GgufValueType et = GgufValueType.byId(elemId);
            if (et == null) throw bad("key '" + key + "' is an array of unknown value type " + Integer.toUnsignedString(elemId));
            if (et == GgufValueType.ARRAY) throw bad("key '" + key + "' is an array of arrays (not supported)");
            long n = count(key + " array length", et == GgufValueType.STRING ? 8 : et.size());
            if (n > Integer.MAX_VALUE - 8) throw bad("key '" + key + "' array of " + n + " elements is too long");
            int len = (int) n;
            Object v = switch (et) {
                case FLOAT32 -> {
                    float[] a = new float[len];
                    for (int i = 0; i < len; i++) a[i] = Float.intBitsToFloat(i32(key));
                    yield a;
                }
                case FLOAT64 -> {
                    double[] a = new double[len];
                    for (int i = 0; i < len; i++) a[i] = Double.longBitsToDouble(i64(key));
                    yield a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) a[i] = (Boolean) scalar(et, key);
                    yield a;
                }
                case STRING -> {
                    List<String> a = new ArrayList<>(len);
                    for (int i = 0; i < len; i++) a.add(string(key + "[" + i + "]", Integer.MAX_VALUE - 8));
                    yield List.copyOf(a);
                }
                default -> {
                    long[] a = new long[len];
                    for (int i = 0; i < len; i++) a[i] = (Long) scalar(et, key);
                    yield a;
                }
            };
            return new GgufValue(type, et, v);
        }

        private Object scalar(GgufValueType type, String key) throws IOException {
            return switch (type) {
                case UINT8 -> (long) u8(key);
                case INT8 -> (long) (byte) u8(key);
                case UINT16 -> (long) u16(key);
                case INT16 -> (long) (short) u16(key);
                case UINT32 -> u32(key);
                case INT32 -> (long) i32(key);
                case UINT64, INT64 -> i64(key);
                case FLOAT32 -> Float.intBitsToFloat(i32(key));
                case FLOAT64 -> Double.longBitsToDouble(i64(key));
                case BOOL -> {
                    int b = u8(key);
                    if (b > 1) throw bad("key '" + key + "' bool value " + b + " (must be 0 or 1)");
                    yield b == 1;
                }
                case STRING -> string(key, Integer.MAX_VALUE - 8);
                case ARRAY -> throw bad("nested array in '" + key + "'");
            };
        }
    }
}
