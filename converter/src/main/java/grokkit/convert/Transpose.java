package grokkit.convert;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Byte-matrix transposition in 8×8 blocks, eight bytes at a time (the int8 [in, out] → out-major step). */
final class Transpose {
    /** Longs in byte arrays: an intrinsic with a plain bounds check (no segment liveness checks per access). */
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Input rows copied from the source per pass: BLOCK × rows bytes stay in L1/L2 while transposed. */
    static final int BLOCK = 64;
    /** Per-thread staging buffer for {@link #tile}, grown on demand (no allocation per tile). */
    private static final ThreadLocal<byte[][]> STAGE = ThreadLocal.withInitial(() -> new byte[][] {new byte[0]});

    private Transpose() {}

    /**
     * The transposing read of a tile: {@code dst[t·in + i] = src[base + i·srcStride + t]} for
     * i in [0, in), t in [0, rows). Cache-blocked: {@link #BLOCK} source rows at a time are
     * bulk-copied (sequential reads of the mapped source) into a reused per-thread buffer, then
     * transposed in 8×8 byte blocks, finishing the 64-byte line of 8 output rows before moving
     * on (output rows are {@code in} bytes apart, which would otherwise thrash cache sets).
     * Any shape: the edges not covered by whole 8×8 blocks are copied byte by byte.
     */
    static void tile(MemorySegment src, long base, long srcStride, int rows, int in, byte[] dst) {
        byte[][] holder = STAGE.get();
        if (holder[0].length < BLOCK * rows) holder[0] = new byte[BLOCK * rows];
        byte[] block = holder[0];
        int t8 = rows & ~7;
        for (int i0 = 0; i0 < in; i0 += BLOCK) {
            int bi = Math.min(BLOCK, in - i0), k8 = bi & ~7;
            for (int k = 0; k < bi; k++) MemorySegment.copy(src, ValueLayout.JAVA_BYTE, base + (i0 + k) * srcStride, block, k * rows, rows);
            for (int t = 0; t < t8; t += 8) {
                for (int k = 0; k < k8; k += 8) bytes8x8(block, k * rows + t, rows, dst, t * in + i0 + k, in);
                for (int k = k8; k < bi; k++)
                    for (int c = 0; c < 8; c++) dst[(t + c) * in + i0 + k] = block[k * rows + t + c];
            }
            for (int t = t8; t < rows; t++)
                for (int k = 0; k < bi; k++) dst[t * in + i0 + k] = block[k * rows + t];
        }
    }

    /**
     * {@code dst[d + c·dstStride + r] = src[s + r·srcStride + c]} for r, c in 0..7: reads 8 rows
     * of 8 bytes as longs, transposes them with three rounds of masked swaps (4×4, 2×2, 1×1
     * byte blocks), writes 8 longs.
     */
    static void bytes8x8(byte[] src, int s, int srcStride, byte[] dst, int d, int dstStride) {
        long r0 = (long) LONGS.get(src, s), r1 = (long) LONGS.get(src, s + srcStride);
        long r2 = (long) LONGS.get(src, s + 2 * srcStride), r3 = (long) LONGS.get(src, s + 3 * srcStride);
        long r4 = (long) LONGS.get(src, s + 4 * srcStride), r5 = (long) LONGS.get(src, s + 5 * srcStride);
        long r6 = (long) LONGS.get(src, s + 6 * srcStride), r7 = (long) LONGS.get(src, s + 7 * srcStride);
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
        LONGS.set(dst, d, r0);
        LONGS.set(dst, d + dstStride, r1);
        LONGS.set(dst, d + 2 * dstStride, r2);
        LONGS.set(dst, d + 3 * dstStride, r3);
        LONGS.set(dst, d + 4 * dstStride, r4);
        LONGS.set(dst, d + 5 * dstStride, r5);
        LONGS.set(dst, d + 6 * dstStride, r6);
        LONGS.set(dst, d + 7 * dstStride, r7);
    }

}
