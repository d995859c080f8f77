package grokkit.convert;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Byte-matrix transposition in 8×8 blocks, eight bytes at a time (the int8 [in, out] → out-major step). */
final class Transpose {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Transpose() {}

    /**
     * {@code dst[d + c·dstStride + r] = src[s + r·srcStride + c]} for r, c in 0..7: reads 8 rows
     * of 8 bytes as longs, transposes them with three rounds of masked swaps (4×4, 2×2, 1×1
     * byte blocks), writes 8 longs.
     */
    static void bytes8x8(MemorySegment src, long s, long srcStride, MemorySegment dst, long d, long dstStride) {
        long r0 = src.get(LONG, s), r1 = src.get(LONG, s + srcStride);
        long r2 = src.get(LONG, s + 2 * srcStride), r3 = src.get(LONG, s + 3 * srcStride);
        long r4 = src.get(LONG, s + 4 * srcStride), r5 = src.get(LONG, s + 5 * srcStride);
        long r6 = src.get(LONG, s + 6 * srcStride), r7 = src.get(LONG, s + 7 * srcStride);
        long t;
        // Round 1: exchange the upper 4 columns of rows 0-3 with the lower 4 columns of rows 4-7.
        t = ((r0 >>> 32) ^ r4) & 0xFFFFFFFFL; r4 ^= t; r0 ^= t << 32;
        t = ((r1 >>> 32) ^ r5) & 0xFFFFFFFFL; r5 ^= t; r1 ^= t << 32;
        t = ((r2 >>> 32) ^ r6) & 0xFFFFFFFFL; r6 ^= t; r2 ^= t << 32;
        t = ((r3 >>> 32) ^ r7) & 0xFFFFFFFFL; r7 ^= t; r3 ^= t << 32;
        // Round 2: 2×2-byte blocks between rows i and i+2.
        t = ((r0 >>> 16) ^ r2) & 0x0000FFFF0000FFFFL; r2 ^= t; r0 ^= t << 16;
        t = ((r1 >>> 16) ^ r3) & 0x0000FFFF0000FFFFL; r3 ^= t; r1 ^= t << 16;
        t = ((r4 >>> 16) ^ r6) & 0x0000FFFF0000FFFFL; r6 ^= t; r4 ^= t << 16;
        t = ((r5 >>> 16) ^ r7) & 0x0000FFFF0000FFFFL; r7 ^= t; r5 ^= t << 16;
        // Round 3: single bytes between rows i and i+1.
        t = ((r0 >>> 8) ^ r1) & 0x00FF00FF00FF00FFL; r1 ^= t; r0 ^= t << 8;
        t = ((r2 >>> 8) ^ r3) & 0x00FF00FF00FF00FFL; r3 ^= t; r2 ^= t << 8;
        t = ((r4 >>> 8) ^ r5) & 0x00FF00FF00FF00FFL; r5 ^= t; r4 ^= t << 8;
        t = ((r6 >>> 8) ^ r7) & 0x00FF00FF00FF00FFL; r7 ^= t; r6 ^= t << 8;
        dst.set(LONG, d, r0);
        dst.set(LONG, d + dstStride, r1);
        dst.set(LONG, d + 2 * dstStride, r2);
        dst.set(LONG, d + 3 * dstStride, r3);
        dst.set(LONG, d + 4 * dstStride, r4);
        dst.set(LONG, d + 5 * dstStride, r5);
        dst.set(LONG, d + 6 * dstStride, r6);
        dst.set(LONG, d + 7 * dstStride, r7);
    }
}
