package grokkit.checkpoint;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where an array's raw bytes lie in a checkpoint file, and how to read them: a zero-copy
 * reference ({@link Checkpoint#map} gives the bytes as a mapped segment). Offsets and
 * lengths are longs throughout: the embedding file is 3.2 GB.
 *
 * @param file         the pickle file holding the array
 * @param dtype        element type
 * @param shape        dimensions, outermost first
 * @param byteOrder    byte order of multi-byte elements (little-endian for 1-byte types)
 * @param fortranOrder true if column-major (the checkpoint reader refuses these; C order is expected)
 * @param offset       file offset of the first byte
 * @param byteLength   = elementCount() × dtype.itemSize()
 */
public record ArrayDescriptor(Path file, DType dtype, long[] shape, ByteOrder byteOrder, boolean fortranOrder,
                              long offset, long byteLength) {
    public ArrayDescriptor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ArrayDescriptor a && file.equals(a.file) && dtype == a.dtype && Arrays.equals(shape, a.shape)
                && byteOrder.equals(a.byteOrder) && fortranOrder == a.fortranOrder && offset == a.offset && byteLength == a.byteLength;
    }

    @Override
    public int hashCode() {
        return file.hashCode() * 31 + Long.hashCode(offset) * 17 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return dtype + shapeString() + (fortranOrder ? " (Fortran order)" : "") + " @" + offset + "+" + byteLength + " in " + file.getFileName();
    }
}
