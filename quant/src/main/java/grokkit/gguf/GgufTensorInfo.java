package grokkit.gguf;

import java.util.Arrays;

/**
 * A GGUF tensor-info record: name, dimensions in ggml order ({@code ne[0]} is the row length,
 * the fastest-varying index), type, and the offset of its data from the start of the data
 * section (a multiple of the file's alignment).
 */
public record GgufTensorInfo(String name, long[] ne, GgmlType type, long offset) {
    public GgufTensorInfo {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    public long ne(int i) {
        return i < ne.length ? ne[i] : 1;
    }

    public int dims() {
        return ne.length;
    }

    public long elements() {
        long n = 1;
        for (long d : ne) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Rows of {@code ne[0]} values: the product of the other dimensions. */
    public long rows() {
        return elements() / ne[0];
    }

    /** Bytes of the tensor's data (without alignment padding). */
    public long bytes() {
        return Math.multiplyExact(type.rowBytes(ne[0]), rows());
    }

    /** {@code {96, 512, 8}}: ggml's shape notation. */
    public String shapeString() {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < ne.length; i++) b.append(i == 0 ? "" : ", ").append(ne[i]);
        return b.append('}').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(ne, t.ne) && type == t.type && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(ne) * 7 + type.hashCode() + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return name + " " + shapeString() + " " + type.cliName() + " @" + offset;
    }
}
