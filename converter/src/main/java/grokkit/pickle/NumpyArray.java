package grokkit.pickle;

import java.util.Arrays;

/**
 * A numpy array found in a pickle: its dtype, shape, memory order, and where its raw bytes
 * lie in the file. The payload's length has been checked to equal product(shape) × item size.
 */
public record NumpyArray(NumpyDtype dtype, long[] shape, boolean fortranOrder, long dataOffset, long dataLength) {
    public NumpyArray {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public String toString() {
        return "ndarray(" + dtype + ", shape=" + Arrays.toString(shape) + (fortranOrder ? ", order=F" : "")
                + ", " + dataLength + " bytes at " + dataOffset + ")";
    }
}
