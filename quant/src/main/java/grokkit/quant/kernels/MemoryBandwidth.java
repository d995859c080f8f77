package grokkit.quant.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The physical limit a memory-bound kernel is measured against: a streaming int8 sum that
 * reads every byte of a region once with as little work per byte as possible (one wrapping
 * byte-lane add per vector, four independent accumulators), split across the pool like a
 * product. Benchmarks report kernel GB/s as a ratio of this, measured in the same run over the
 * same bytes.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED;
    /** Work unit for splitting a region across threads: one 4 KB page. */
    private static final int PAGE = 4096;

    private MemoryBandwidth() {}

    /** Wrapping int8 sum of {@code seg[off, off + len)}, read by the pool's threads. */
    public static long sum(ParallelMatmul pool, MemorySegment seg, long off, long len) {
        long pages = len / PAGE;
        if (pages > Integer.MAX_VALUE) throw new IllegalArgumentException("region too large: " + len);
        long[] partial = new long[(int) Math.max(1, pages)];
        pool.forRange((int) pages, (from, to) -> partial[from] = sum(seg, off + (long) from * PAGE, (long) (to - from) * PAGE));
        long total = sum(seg, off + pages * PAGE, len - pages * PAGE);
        for (long p : partial) total += p;
        return total;
    }

    /** Wrapping int8 sum of {@code seg[off, off + len)} on the calling thread. */
    public static long sum(MemorySegment seg, long off, long len) {
        int step = B.length();
        ByteVector a0 = ByteVector.zero(B), a1 = a0, a2 = a0, a3 = a0;
        long i = 0;
        for (long bound = len - 4L * step; i <= bound; i += 4L * step) {
            a0 = a0.add(ByteVector.fromMemorySegment(B, seg, off + i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(ByteVector.fromMemorySegment(B, seg, off + i + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(ByteVector.fromMemorySegment(B, seg, off + i + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(ByteVector.fromMemorySegment(B, seg, off + i + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        long s = a0.add(a1).add(a2).add(a3).reduceLanesToLong(VectorOperators.ADD);
        for (; i < len; i++) s += seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + i);
        return s;
    }
}
