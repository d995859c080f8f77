package grokkit.convert;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One C-order array of the source checkpoint, as mapped bytes (never copied as a whole).
 *
 * @param data  the array's bytes (typically a read-only mapped slice of a pickle file)
 * @param type  element type
 * @param shape dimensions, outermost first
 * @param order byte order of multi-byte elements
 * @param file  the file whose bytes {@code [fileOffset, fileOffset + byteSize)} are {@code data},
 *              or null when the array is not a plain file range (lets a raw copy be done by the
 *              kernel, file to file, instead of through user space)
 * @param fileOffset where {@code data} starts in {@code file}
 */
public record SourceArray(MemorySegment data, Type type, long[] shape, ByteOrder order, java.nio.file.Path file, long fileOffset) {
    /** The element types conversion reads. */
    public enum Type {
        F32(4), INT8(1), BF16(2);

        public final int size;

        Type(int size) {
            this.size = size;
        }
    }

    public SourceArray {
        shape = shape.clone();
        long n = type.size;
        for (long d : shape) n *= d;
        if (data.byteSize() != n)
            throw new IllegalArgumentException("array " + type + Arrays.toString(shape) + " needs " + n + " bytes, has " + data.byteSize());
    }

    /** An array with no known file of origin (in memory, or a file that must not be copied from). */
    public SourceArray(MemorySegment data, Type type, long[] shape, ByteOrder order) {
        this(data, type, shape, order, null, 0);
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    public long byteSize() {
        return data.byteSize();
    }

    @Override
    public String toString() {
        return type + Arrays.toString(shape);
    }
}
