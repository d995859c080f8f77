package grokkit.gguf;

import grokkit.shard.ShardWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes one GGUF file (specification version 3) front to back: header, metadata, tensor
 * infos, padding, then each tensor's data in the planned order, each starting at a multiple of
 * the alignment. The whole layout is fixed before the first byte ({@link #layout}), so the
 * caller streams tensor bytes without ever seeking, files of any size (offsets are 64-bit), and
 * the bytes depend only on the inputs.
 *
 * <p>The file is written as {@code NAME.partial} and renamed to {@code NAME} by {@link #commit};
 * {@link #close} without a commit deletes it (the bytes go through {@link ShardWriter}).
 *
 * <p>An alignment other than GGUF's default of 32 is recorded as {@code general.alignment}
 * (u32), which readers must honour; this writer adds that key when the caller has not.
 */
public final class GgufWriter implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int VERSION = 3;
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String KEY_ALIGNMENT = "general.alignment";

    /** A tensor to be written: name, ggml dimensions, type. */
    public record Tensor(String name, long[] ne, GgmlType type) {}

    private final ShardWriter out;
    private final List<GgufTensorInfo> infos;
    private final long dataStart;
    private final long end;
    private final int alignment;
    private int next;

    /**
     * Creates {@code target.partial} and writes everything before the tensor data.
     *
     * @param metadata  keys in the order they are written ({@code general.alignment} added if absent)
     * @param tensors   the tensors, in the order their data will be written
     * @param alignment a power of two
     */
    public GgufWriter(Path target, Map<String, GgufValue> metadata, List<Tensor> tensors, int alignment,
                      ShardWriter.ChannelOpener opener) throws IOException {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) throw new IllegalArgumentException("alignment " + alignment);
        this.alignment = alignment;
        this.infos = layout(tensors, alignment);
        LinkedHashMap<String, GgufValue> kv = new LinkedHashMap<>(metadata);
        if (alignment != DEFAULT_ALIGNMENT) kv.putIfAbsent(KEY_ALIGNMENT, GgufValue.u32(alignment));
        byte[] header = header(kv, infos);
        this.dataStart = pad(header.length, alignment);
        long size = 0;
        if (!infos.isEmpty()) {
            GgufTensorInfo last = infos.getLast();
            size = pad(last.offset() + last.bytes(), alignment);
        }
        this.end = dataStart + size;
        this.out = new ShardWriter(target, opener);
        try {
            out.write(header, 0, header.length);
            out.padTo(dataStart);
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** Tensor infos with their data offsets: in order, each at the next multiple of {@code alignment}. */
    public static List<GgufTensorInfo> layout(List<Tensor> tensors, int alignment) {
        List<GgufTensorInfo> infos = new ArrayList<>(tensors.size());
        long offset = 0;
        for (Tensor t : tensors) {
            GgufTensorInfo info = new GgufTensorInfo(t.name(), t.ne(), t.type(), offset);
            infos.add(info);
            offset = pad(offset + info.bytes(), alignment);
        }
        return infos;
    }

    /** {@code n} rounded up to a multiple of {@code alignment}. */
    public static long pad(long n, int alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    /** The tensor infos, with offsets. */
    public List<GgufTensorInfo> tensors() {
        return infos;
    }

    /** The file's final size. */
    public long fileBytes() {
        return end;
    }

    public long position() {
        return out.position();
    }

    /** Starts tensor {@code index}'s data, which must be the next one: pads up to its offset. */
    public void beginTensor(int index) throws IOException {
        if (index != next) throw new IllegalStateException("tensor " + index + " begun, expected " + next);
        checkPreviousComplete();
        out.padTo(dataStart + infos.get(index).offset());
        next++;
    }

    private void checkPreviousComplete() {
        if (next == 0) return;
        GgufTensorInfo prev = infos.get(next - 1);
        long want = dataStart + prev.offset() + prev.bytes();
        if (out.position() != want)
            throw new IllegalStateException(prev.name() + ": wrote " + (out.position() - dataStart - prev.offset()) + " bytes, its size is " + prev.bytes());
    }

    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
    }

    /** Appends bytes that are also {@code [offset, offset + bytes.byteSize())} of {@code source} (a kernel copy where possible). */
    public void copyFrom(Path source, long offset, MemorySegment bytes) throws IOException {
        out.copyFrom(source, offset, bytes);
    }

    /** Pads the last tensor, checks that every tensor was written whole, and gives the file its name. */
    public void commit() throws IOException {
        if (next != infos.size()) throw new IllegalStateException("only " + next + " of " + infos.size() + " tensors written");
        checkPreviousComplete();
        out.padTo(end);
        out.commit();
    }

    @Override
    public void close() {
        out.close();
    }

    // ---- serialization

    static byte[] header(Map<String, GgufValue> kv, List<GgufTensorInfo> infos) {
        Bytes b = new Bytes();
        b.u32(MAGIC);
        b.u32(VERSION);
        b.u64(infos.size());
        b.u64(kv.size());
        for (Map.Entry<String, GgufValue> e : kv.entrySet()) {
            b.string(e.getKey());
            GgufValue v = e.getValue();
            b.u32(v.type().id());
            if (v.type() == GgufValueType.ARRAY) {
                b.u32(v.elementType().id());
                b.u64(v.count());
                writeArray(b, v);
            } else {
                writeScalar(b, v.type(), v.value());
            }
        }
        for (GgufTensorInfo t : infos) {
            b.string(t.name());
            b.u32(t.dims());
            for (long d : t.ne()) b.u64(d);
            b.u32(t.type().id());
            b.u64(t.offset());
        }
        return b.toByteArray();
    }

    private static void writeScalar(Bytes b, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> b.write((int) (long) (Long) v);
            case UINT16, INT16 -> b.u16((int) (long) (Long) v);
            case UINT32, INT32 -> b.u32((int) (long) (Long) v);
            case UINT64, INT64 -> b.u64((Long) v);
            case FLOAT32 -> b.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> b.u64(Double.doubleToRawLongBits((Double) v));
            case BOOL -> b.write((Boolean) v ? 1 : 0);
            case STRING -> b.string((String) v);
            case ARRAY -> throw new IllegalArgumentException("nested array");
        }
    }

    private static void writeArray(Bytes b, GgufValue v) {
        GgufValueType et = v.elementType();
        switch (v.value()) {
            case long[] a -> { for (long x : a) writeScalar(b, et, x); }
            case float[] a -> { for (float x : a) b.u32(Float.floatToRawIntBits(x)); }
            case double[] a -> { for (double x : a) b.u64(Double.doubleToRawLongBits(x)); }
            case boolean[] a -> { for (boolean x : a) b.write(x ? 1 : 0); }
            case List<?> l -> { for (Object s : l) b.string((String) s); }
            default -> throw new IllegalArgumentException("array value of " + v.value().getClass());
        }
    }

    /** A growable little-endian byte buffer. */
    private static final class Bytes extends ByteArrayOutputStream {
        Bytes() {
            super(1 << 16);
        }

        void u16(int v) {
            write(v);
            write(v >>> 8);
        }

        void u32(int v) {
            for (int i = 0; i < 4; i++) write(v >>> (8 * i));
        }

        void u64(long v) {
            for (int i = 0; i < 8; i++) write((int) (v >>> (8 * i)));
        }

        void string(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            u64(u.length);
            write(u, 0, u.length);
        }
    }
}
