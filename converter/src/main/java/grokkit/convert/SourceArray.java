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
 */
public record SourceArray(MemorySegment data, Type type, long[] shape, ByteOrder order) {
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
