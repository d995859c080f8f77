package grokkit.convert;

import grokkit.quant.Halfs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A source parameter seen as the matrix W {@code [in, out]} that the shards store out-major,
 * and the reading of tiles of output rows from it: {@code dst[t·in + i] = W[i, o0 + t]}.
 *
 * <p>Element (i, o) of the source lies at element index {@code base + i·strideIn + o·strideOut}.
 * xAI's weights are {@code [in, out]} in C order ({@code strideOut = 1}), so a tile is a
 * transpose: it reads {@code rows} contiguous values from each input row, in blocks of
 * {@link #BLOCK} input rows, and never holds more than a tile in memory.
 */
final class MatrixView {
    static final int BLOCK = 64;

    final SourceArray array;
    final long base;
    final int in, out;
    final long strideIn, strideOut;
    /** bf16 scales: element (b, o) at {@code scaleBase + b·out + o}; null for f32 sources. */
    final SourceArray scales;
    final long scaleBase;
    final int blocks;
    private final ValueLayout.OfFloat f32;
    private final ValueLayout.OfShort i16;

    private MatrixView(SourceArray array, long base, int in, int out, long strideIn, long strideOut, SourceArray scales, long scaleBase, int blocks) {
        this.array = array;
        this.base = base;
        this.in = in;
        this.out = out;
        this.strideIn = strideIn;
        this.strideOut = strideOut;
        this.scales = scales;
        this.scaleBase = scaleBase;
        this.blocks = blocks;
        this.f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(array.order());
        this.i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(scales == null ? array.order() : scales.order());
    }

    /** A float32 vector {@code [n]} as a one-row matrix ({@code in = n, out = 1}). */
    static MatrixView vector(SourceArray a) {
        return new MatrixView(a, 0, (int) a.dim(0), 1, 1, a.dim(0), null, 0, 0);
    }

    /** A float32 array {@code [rows, cols]} whose rows are already the out-major rows (the embedding table). */
    static MatrixView rowsAreOutputs(SourceArray a) {
        return new MatrixView(a, 0, (int) a.dim(1), (int) a.dim(0), 1, a.dim(1), null, 0, 0);
    }

    /** A float32 weight {@code [in, out]} (the router). */
    static MatrixView weight(SourceArray a) {
        return new MatrixView(a, 0, (int) a.dim(0), (int) a.dim(1), a.dim(1), 1, null, 0, 0);
    }

    /** xAI's int8 weight {@code [in, out]} or expert {@code e} of {@code [E, in, out]}, with its scales. */
    static MatrixView quantized(SourceTensor t, int expert) {
        SourceArray w = t.weight(), s = t.scales();
        int in = (int) w.dim(-2), out = (int) w.dim(-1), b = (int) s.dim(-2);
        long e = Math.max(expert, 0);
        return new MatrixView(w, e * in * out, in, out, out, 1, s, e * b * out, b);
    }

    long sourceBytes() {
        long n = (long) in * out * array.type().size;
        return scales == null ? n : n + (long) blocks * out * 2;
    }

    /** Rows of inputs that share one scale (xAI's row block). */
    int blockRows() {
        return in / blocks;
    }

    /** The bf16 bits of the scale of row block {@code b}, output {@code o}. */
    short scaleBits(int b, int o) {
        return scales.data().get(i16, 2 * (scaleBase + (long) b * out + o));
    }

    /** int8 values of output rows {@code [o0, o0 + rows)} into {@code dst[t·in + i]}. */
    void readInt8(int o0, int rows, byte[] dst) {
        MemorySegment seg = array.data();
        if (strideIn == 1) {
            for (int t = 0; t < rows; t++) MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, base + (o0 + t) * strideOut, dst, t * in, in);
            return;
        }
        if (strideOut != 1) {
            for (int t = 0; t < rows; t++)
                for (int i = 0; i < in; i++) dst[t * in + i] = seg.get(ValueLayout.JAVA_BYTE, base + i * strideIn + (o0 + t) * strideOut);
            return;
        }
        // xAI's [in, out] layout: a cache-blocked transpose (see Transpose.tile).
        Transpose.tile(seg, base + o0, strideIn, rows, in, dst);
    }

    /** Whether {@link #channelStats} applies: xAI's int8 {@code [in, out]} layout with a scale table of bounded size. */
    boolean channelStatsDirect() {
        return scales != null && strideOut == 1 && strideIn == out && (long) blocks * out <= (1 << 24);
    }

    /**
     * Per input channel i (a contiguous source row): {@code sumSq[i] = Σ_o (double) w²} added
     * in output order from 0, and {@code absMax[i] = max_o |w|}, with {@code w = q·s} in float32
     * as {@link #readFloats} computes it; i.e. exactly what the q4nl statistics pass adds up over
     * the transposed tiles, read straight from the source rows (sequential, no transposition).
     * Four channels at a time: four independent float64 chains instead of one.
     */
    void channelStats(double[] sumSq, float[] absMax) {
        int r = blockRows();
        float[] sc = new float[blocks * out];
        short[] bits = new short[out];
        for (int b = 0; b < blocks; b++) {
            MemorySegment.copy(scales.data(), i16, 2 * (scaleBase + (long) b * out), bits, 0, out);
            for (int o = 0; o < out; o++) sc[b * out + o] = Halfs.bf16ToFloat(bits[o]);
        }
        MemorySegment seg = array.data();
        byte[] q = new byte[4 * out];
        int i = 0;
        for (; i + 4 <= in; i += 4) {
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, base + (long) i * strideIn, q, 0, 4 * out);
            int s0 = (i / r) * out, s1 = ((i + 1) / r) * out, s2 = ((i + 2) / r) * out, s3 = ((i + 3) / r) * out;
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
            for (int o = 0; o < out; o++) {
                float v0 = q[o] * sc[s0 + o], v1 = q[out + o] * sc[s1 + o], v2 = q[2 * out + o] * sc[s2 + o], v3 = q[3 * out + o] * sc[s3 + o];
                double d0 = v0, d1 = v1, d2 = v2, d3 = v3;
                a0 += d0 * d0;
                a1 += d1 * d1;
                a2 += d2 * d2;
                a3 += d3 * d3;
                m0 = Math.max(m0, Math.abs(v0));
                m1 = Math.max(m1, Math.abs(v1));
                m2 = Math.max(m2, Math.abs(v2));
                m3 = Math.max(m3, Math.abs(v3));
            }
            sumSq[i] = a0;
            sumSq[i + 1] = a1;
            sumSq[i + 2] = a2;
            sumSq[i + 3] = a3;
            absMax[i] = m0;
            absMax[i + 1] = m1;
            absMax[i + 2] = m2;
            absMax[i + 3] = m3;
        }
        for (; i < in; i++) {
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, base + (long) i * strideIn, q, 0, out);
            int s0 = (i / r) * out;
            double a = 0;
            float m = 0;
            for (int o = 0; o < out; o++) {
                float v = q[o] * sc[s0 + o];
                a += (double) v * v;
                m = Math.max(m, Math.abs(v));
            }
            sumSq[i] = a;
            absMax[i] = m;
        }
    }

    /** Whether the source is xAI's int8 values with their scales (a quantized weight). */
    boolean int8() {
        return scales != null;
    }

    /**
     * Whether the stored f32 rows are exactly the source bytes (a little-endian float32 array
     * whose out-major rows are contiguous, like the embedding table): then a tile is a plain copy.
     */
    boolean rawF32Rows() {
        return scales == null && array.type() == SourceArray.Type.F32 && strideIn == 1 && array.order() == java.nio.ByteOrder.LITTLE_ENDIAN;
    }

    /**
     * The source file range holding output rows {@code [o0, o0 + rows)} when {@link #rawF32Rows()},
     * the rows are contiguous and the array's file is known; null otherwise.
     */
    TileTask.FileRange rawF32FileRange(int o0, int rows) {
        if (array.file() == null || strideOut != in) return null;
        long from = 4 * (base + o0 * strideOut);
        return new TileTask.FileRange(array.file(), array.fileOffset() + from, array.data().asSlice(from, 4L * rows * in));
    }

    /** The bytes of output rows {@code [o0, o0 + rows)} when {@link #rawF32Rows()}. */
    void readRawF32Rows(int o0, int rows, byte[] dst) {
        long from = 4 * (base + o0 * strideOut);
        if (strideOut == in) {
            MemorySegment.copy(array.data(), ValueLayout.JAVA_BYTE, from, dst, 0, 4 * rows * in);
            return;
        }
        for (int t = 0; t < rows; t++) MemorySegment.copy(array.data(), ValueLayout.JAVA_BYTE, 4 * (base + (o0 + t) * strideOut), dst, 4 * t * in, 4 * in);
    }

    /**
     * Float values of output rows {@code [o0, o0 + rows)} into {@code dst[t·in + i]}: the f32
     * values, or {@code q·s} for int8 (exact in float32: 8-bit times 8-bit significands).
     */
    void readFloats(int o0, int rows, float[] dst, byte[] bytes, float[] tmp) {
        MemorySegment seg = array.data();
        if (scales != null) {
            readInt8(o0, rows, bytes);
            int r = blockRows();
            // The tile's scales, read per row block as one contiguous run (not one segment access each).
            float[] sc = new float[blocks * rows];
            short[] bits = new short[rows];
            for (int b = 0; b < blocks; b++) {
                MemorySegment.copy(scales.data(), i16, 2 * (scaleBase + (long) b * out + o0), bits, 0, rows);
                for (int t = 0; t < rows; t++) sc[t * blocks + b] = Halfs.bf16ToFloat(bits[t]);
            }
            for (int t = 0; t < rows; t++) {
                for (int b = 0; b < blocks; b++) {
                    float s = sc[t * blocks + b];
                    int from = t * in + b * r;
                    for (int i = from; i < from + r; i++) dst[i] = bytes[i] * s;
                }
            }
            return;
        }
        if (strideIn == 1) {
            for (int t = 0; t < rows; t++) MemorySegment.copy(seg, f32, 4 * (base + (o0 + t) * strideOut), dst, t * in, in);
            return;
        }
        for (int i0 = 0; i0 < in; i0 += BLOCK) {
            int bi = Math.min(BLOCK, in - i0);
            for (int k = 0; k < bi; k++)
                MemorySegment.copy(seg, f32, 4 * (base + (i0 + k) * strideIn + o0 * strideOut), tmp, k * rows, rows);
            for (int t = 0; t < rows; t++) {
                int d = t * in + i0;
                for (int k = 0; k < bi; k++) dst[d + k] = tmp[k * rows + t];
            }
        }
    }
}
