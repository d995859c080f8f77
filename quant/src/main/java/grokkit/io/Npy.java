package grokkit.io;

import grokkit.errors.BadInputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * numpy {@code .npy} files of float32 arrays: what golden logits, {@code grok logits} and
 * {@code grok verify --logits-dir} exchange with Python tools.
 *
 * <p>Reads format versions 1.0, 2.0 and 3.0 (they differ only in the header-length field width
 * and the header's text encoding) with dtype {@code <f4} or {@code >f4} in C order, 1-D or 2-D.
 * Writes version 1.0, {@code <f4}, C order, header padded so the data starts at a multiple of 64
 * bytes (what numpy itself writes). Validation is strict because a golden file that is silently
 * misread (wrong dtype, transposed, truncated) would make every accuracy number meaningless;
 * every problem is a {@link BadInputException} naming the file.
 *
 * <p>Format: magic {@code \x93NUMPY}, major, minor, header length (uint16 LE for 1.x, uint32 LE
 * for 2.x/3.x), then a Python dict literal such as
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (3, 1024), }} padded with spaces and
 * ending in a newline, then the raw array data.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Refuse absurd headers (numpy itself caps them at 10 000 bytes by default). */
    private static final int MAX_HEADER_BYTES = 1 << 20;

    private Npy() {}

    /**
     * A parsed header.
     *
     * @param major      format major version (1, 2 or 3)
     * @param minor      format minor version (0)
     * @param descr      numpy dtype string, e.g. {@code <f4}
     * @param bigEndian  whether the float32 data is big-endian ({@code >f4})
     * @param shape      array shape; {@code []} for a scalar
     * @param dataOffset byte offset of the array data in the file
     */
    public record Header(int major, int minor, String descr, boolean bigEndian, long[] shape, long dataOffset) {
        /** Number of elements (product of the shape). */
        public long elementCount() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        /** The shape as numpy prints it, e.g. {@code (3, 1024)}. */
        public String shapeText() {
            return Npy.shapeText(shape);
        }
    }

    // ------------------------------------------------------------------ reading

    /** Reads and validates only the header (dtype, order, shape, that the data size matches). */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = open(file)) {
            return readHeader(file, ch);
        }
    }

    /** Reads a 2-D float32 array {@code [rows, cols]}; any other rank is rejected. */
    public static float[][] readMatrix(Path file) throws IOException {
        try (FileChannel ch = open(file)) {
            Header h = readHeader(file, ch);
            if (h.shape().length != 2) {
                throw new BadInputException(file + ": expected a 2-D float32 array, found shape " + h.shapeText());
            }
            return readRows(file, ch, h);
        }
    }

    /**
     * Reads a 2-D float32 array and checks it has exactly the expected shape (e.g. golden logits
     * {@code [T, vocab]}); the message names the file and both shapes.
     */
    public static float[][] readMatrix(Path file, int expectedRows, int expectedCols) throws IOException {
        try (FileChannel ch = open(file)) {
            Header h = readHeader(file, ch);
            long[] want = {expectedRows, expectedCols};
            if (!Arrays.equals(h.shape(), want)) {
                throw new BadInputException(file + ": shape mismatch: file has " + h.shapeText()
                        + ", expected " + shapeText(want));
            }
            return readRows(file, ch, h);
        }
    }

    /** Reads a 1-D float32 array; any other rank is rejected. */
    public static float[] readVector(Path file) throws IOException {
        try (FileChannel ch = open(file)) {
            Header h = readHeader(file, ch);
            if (h.shape().length != 1) {
                throw new BadInputException(file + ": expected a 1-D float32 array, found shape " + h.shapeText());
            }
            float[][] one = readRows(file, ch, new Header(h.major(), h.minor(), h.descr(), h.bigEndian(),
                    new long[] {1, h.shape()[0]}, h.dataOffset()));
            return one[0];
        }
    }

    private static FileChannel open(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new BadInputException(file + ": is a directory, expected a .npy file");
        if (Files.exists(file)) InputFiles.requireRegularFile(file, ""); // never open a FIFO (it blocks) or a device
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file", e);
        }
    }

    private static float[][] readRows(Path file, FileChannel ch, Header h) throws IOException {
        long rows = h.shape()[0];
        long cols = h.shape()[1];
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE - 8) {
            throw new BadInputException(file + ": shape " + h.shapeText() + " is too large to read into memory");
        }
        float[][] out = new float[(int) rows][(int) cols];
        ByteOrder order = h.bigEndian() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(cols * 4L, Integer.MAX_VALUE - 8)).order(order);
        long pos = h.dataOffset();
        for (int r = 0; r < rows; r++) {
            float[] row = out[r];
            int done = 0;
            while (done < cols) {
                buf.clear();
                int want = (int) Math.min((long) buf.capacity(), (cols - done) * 4L);
                buf.limit(want);
                readFully(file, ch, buf, pos);
                pos += want;
                buf.flip();
                buf.asFloatBuffer().get(row, done, want / 4);
                done += want / 4;
            }
        }
        return out;
    }

    private static void readFully(Path file, FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new BadInputException(file + ": truncated: file ended at byte " + pos);
            pos += n;
        }
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        int got = 0;
        while (pre.hasRemaining()) {
            int n = ch.read(pre, got);
            if (n < 0) break;
            got += n;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (got <= i || pre.get(i) != MAGIC[i]) {
                throw new BadInputException(file + ": not a numpy .npy file (bad magic; expected \\x93NUMPY)");
            }
        }
        if (got < 10) throw new BadInputException(file + ": truncated .npy preamble (" + size + " bytes)");
        int major = pre.get(6) & 0xff;
        int minor = pre.get(7) & 0xff;
        long headerLen;
        int preamble;
        if (major == 1 && minor == 0) {
            headerLen = pre.getShort(8) & 0xffff;
            preamble = 10;
        } else if ((major == 2 || major == 3) && minor == 0) {
            if (got < 12) throw new BadInputException(file + ": truncated .npy preamble (" + size + " bytes)");
            headerLen = pre.getInt(8) & 0xffffffffL;
            preamble = 12;
        } else {
            throw new BadInputException(file + ": unsupported .npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw new BadInputException(file + ": .npy header length " + headerLen + " is implausible");
        }
        if (preamble + headerLen > size) {
            throw new BadInputException(file + ": truncated: header says " + headerLen + " header bytes but the file has "
                    + size + " bytes");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(file, ch, hb, preamble);
        // 1.x and 2.x headers are latin-1; 3.x headers are UTF-8 (numpy's only difference between 2 and 3).
        String text = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict;
        try {
            dict = new HeaderParser(text).parseDict();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(file + ": malformed .npy header: " + e.getMessage() + " in " + text.strip());
        }
        for (String k : dict.keySet()) {
            if (!k.equals("descr") && !k.equals("fortran_order") && !k.equals("shape")) {
                throw new BadInputException(file + ": malformed .npy header: unexpected key '" + k + "'");
            }
        }
        if (!(dict.get("descr") instanceof String descr)) {
            throw new BadInputException(file + ": malformed .npy header: 'descr' missing or not a string");
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw new BadInputException(file + ": malformed .npy header: 'fortran_order' missing or not True/False");
        }
        if (!(dict.get("shape") instanceof long[] shape)) {
            throw new BadInputException(file + ": malformed .npy header: 'shape' missing or not a tuple of integers");
        }
        boolean bigEndian;
        if (descr.equals("<f4")) bigEndian = false;
        else if (descr.equals(">f4")) bigEndian = true;
        else {
            throw new BadInputException(file + ": unsupported dtype '" + descr
                    + "' (expected float32 '<f4'; convert with arr.astype(np.float32))");
        }
        if (fortran) {
            throw new BadInputException(file + ": Fortran-order (column-major) arrays are not supported;"
                    + " save a C-order array (np.ascontiguousarray)");
        }
        Header h = new Header(major, minor, descr, bigEndian, shape, preamble + headerLen);
        long dataBytes;
        try {
            dataBytes = Math.multiplyExact(h.elementCount(), 4L);
        } catch (ArithmeticException e) {
            throw new BadInputException(file + ": shape " + h.shapeText() + " is too large");
        }
        long have = size - h.dataOffset();
        if (have < dataBytes) {
            throw new BadInputException(file + ": truncated: shape " + h.shapeText() + " float32 needs " + dataBytes
                    + " data bytes, the file has " + have);
        }
        if (have > dataBytes) {
            throw new BadInputException(file + ": " + (have - dataBytes) + " unexpected bytes after the "
                    + h.shapeText() + " float32 data");
        }
        return h;
    }

    /** Parses the restricted Python literal of a .npy header: a dict of str → str | bool | tuple of int. */
    private static final class HeaderParser {
        private final String s;
        private int i;

        HeaderParser(String s) {
            this.s = s;
        }

        Map<String, Object> parseDict() {
            Map<String, Object> out = new LinkedHashMap<>();
            skipWs();
            expect('{');
            while (true) {
                skipWs();
                if (peek() == '}') {
                    i++;
                    break;
                }
                String key = parseString();
                skipWs();
                expect(':');
                skipWs();
                Object v = parseValue();
                if (out.put(key, v) != null) throw new IllegalArgumentException("duplicate key '" + key + "'");
                skipWs();
                if (peek() == ',') {
                    i++;
                } else {
                    skipWs();
                    expect('}');
                    break;
                }
            }
            skipWs();
            if (i != s.length()) throw new IllegalArgumentException("unexpected text after the dict");
            return out;
        }

        private Object parseValue() {
            char c = peek();
            if (c == '\'' || c == '"') return parseString();
            if (c == '(') return parseTuple();
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            throw new IllegalArgumentException("unexpected value at offset " + i);
        }

        private long[] parseTuple() {
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (true) {
                skipWs();
                if (peek() == ')') {
                    i++;
                    break;
                }
                int start = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (start == i) throw new IllegalArgumentException("expected a non-negative integer at offset " + i);
                // numpy may print Python 2 style longs (e.g. 3L) in very old files.
                if (i < s.length() && s.charAt(i) == 'L') i++;
                try {
                    dims.add(Long.parseLong(s.substring(start, i).replace("L", "")));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("dimension too large at offset " + start);
                }
                skipWs();
                if (peek() == ',') {
                    i++;
                } else {
                    expect(')');
                    break;
                }
            }
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private String parseString() {
            char q = peek();
            if (q != '\'' && q != '"') throw new IllegalArgumentException("expected a quoted string at offset " + i);
            int end = s.indexOf(q, i + 1);
            if (end < 0) throw new IllegalArgumentException("unterminated string at offset " + i);
            String v = s.substring(i + 1, end);
            i = end + 1;
            return v;
        }

        private void skipWs() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }

        private char peek() {
            if (i >= s.length()) throw new IllegalArgumentException("header ends early");
            return s.charAt(i);
        }

        private void expect(char c) {
            if (peek() != c) throw new IllegalArgumentException("expected '" + c + "' at offset " + i);
            i++;
        }
    }

    // ------------------------------------------------------------------ writing

    /** Writes a 2-D float32 array {@code [rows, cols]} (all rows the same length) as .npy v1.0 {@code <f4}. */
    public static void write(Path file, float[][] rows) throws IOException {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != cols) {
                throw new IllegalArgumentException("ragged array: row " + r + " has " + rows[r].length
                        + " values, row 0 has " + cols);
            }
        }
        writeAtomically(file, new long[] {rows.length, cols}, rows);
    }

    /** Writes a 1-D float32 array as .npy v1.0 {@code <f4}. */
    public static void write(Path file, float[] values) throws IOException {
        writeAtomically(file, new long[] {values.length}, new float[][] {values});
    }

    /** The v1.0 header bytes (magic through newline) for a C-order {@code <f4} array of this shape. */
    static byte[] headerBytes(long[] shape) {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText(shape) + ", }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1; // + '\n'
        int padded = (unpadded + 63) / 64 * 64; // numpy aligns the data to 64 bytes
        int headerLen = padded - MAGIC.length - 4;
        if (headerLen > 0xffff) throw new IllegalArgumentException("shape too long for a v1.0 header");
        StringBuilder sb = new StringBuilder(dict);
        while (sb.length() < headerLen - 1) sb.append(' ');
        sb.append('\n');
        ByteBuffer b = ByteBuffer.allocate(padded).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) headerLen);
        b.put(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    private static void writeAtomically(Path file, long[] shape, float[][] rows) throws IOException {
        // Temporary name + rename, only over a regular file, failures naming the file: OutputFiles.
        OutputFiles.write(file, "", ch -> {
            writeFully(ch, ByteBuffer.wrap(headerBytes(shape)));
            int maxCols = 0;
            for (float[] r : rows) maxCols = Math.max(maxCols, r.length);
            ByteBuffer buf = ByteBuffer.allocate(Math.max(4, Math.min(maxCols, 1 << 20) * 4)).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] row : rows) {
                int done = 0;
                while (done < row.length) {
                    int n = Math.min(row.length - done, buf.capacity() / 4);
                    buf.clear();
                    buf.asFloatBuffer().put(row, done, n);
                    buf.limit(n * 4);
                    writeFully(ch, buf);
                    done += n;
                }
            }
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    static String shapeText(long[] shape) {
        if (shape.length == 1) return "(" + shape[0] + ",)";
        StringBuilder sb = new StringBuilder("(");
        for (int k = 0; k < shape.length; k++) {
            if (k > 0) sb.append(", ");
            sb.append(shape[k]);
        }
        return sb.append(')').toString();
    }
}
