package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.quant.MatrixEncoder;
import grokkit.quant.Q4NlEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Encodes output rows {@code [o0, o0 + rows)} of one output record: reads them from the source
 * (transposing to out-major), encodes them with the record's {@link MatrixEncoder}, and measures
 * their error. Runs on a worker thread; the result holds only encoded bytes. Records stored
 * exactly as the source holds them (xAI's int8 values, raw f32 rows) are copied instead.
 */
final class TileTask implements Callable<TileTask.Tile> {
    /**
     * An encoded tile, in the order the writer appends it. Its weight bytes are either
     * {@code weights} or, for rows stored exactly as a source file holds them, {@code copy}.
     */
    record Tile(int tensor, boolean first, boolean last, byte[] weights, byte[] scales, int scaleOffset,
                double sumSq, double errSq, long sourceBytes, FileRange copy, boolean recyclable) {
        Tile(int tensor, boolean first, boolean last, byte[] weights, byte[] scales, int scaleOffset,
             double sumSq, double errSq, long sourceBytes, FileRange copy) {
            this(tensor, first, last, weights, scales, scaleOffset, sumSq, errSq, sourceBytes, copy, false);
        }
    }

    /**
     * Source bytes to be copied unchanged, file to file by the kernel ({@code copy_file_range}):
     * {@code bytes} (the mapped view of the same range) is what the writer checksums.
     */
    record FileRange(java.nio.file.Path file, long offset, java.lang.foreign.MemorySegment bytes) {}

    /**
     * The buffers of one conversion, shared by its tiles and dropped with it: per-thread scratch
     * arrays, and the weight buffers of written tiles, handed back by the writer
     * ({@link #recycle}) for the next tiles: no 2 MiB allocation (zeroing, GC) per tile. The
     * queue is bounded, and only arrays of the exact size asked for are reused, so it never
     * holds more than a window of tiles.
     */
    static final class Buffers {
        private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
        private final java.util.concurrent.ArrayBlockingQueue<byte[]> free = new java.util.concurrent.ArrayBlockingQueue<>(16);

        /** A recycled buffer of exactly {@code n} bytes (contents arbitrary), or a new one. */
        byte[] reusedOr(int n) {
            for (byte[] b; (b = free.poll()) != null; ) if (b.length == n) return b;
            return new byte[n];
        }

        /** Called by the writer once a tile's bytes are written: its weight buffer may serve another tile. */
        void recycle(Tile t) {
            if (t.recyclable()) free.offer(t.weights());
        }

        Scratch scratch() {
            return scratch.get();
        }
    }

    private final Buffers buffers;
    private final int tensor;
    private final OutputTensor ot;
    private final int o0, rows;
    private final boolean first, last;
    /** The record's encoder, prepared once (shared by its tiles); null for records that are copied. */
    private final Preparation encoder;

    private TileTask(Buffers buffers, int tensor, OutputTensor ot, int o0, int rows, Preparation encoder) {
        this.buffers = buffers;
        this.tensor = tensor;
        this.ot = ot;
        this.o0 = o0;
        this.rows = rows;
        this.encoder = encoder;
        this.first = o0 == 0;
        this.last = o0 + rows == ot.view().out;
    }

    /**
     * The tiles of one record, in order. {@code importance}: the per-input error weights of an
     * encoding that uses them ({@link grokkit.quant.Encoding#weighsImportance}), or null.
     */
    static List<TileTask> split(int tensor, OutputTensor ot, float[] importance, Buffers buffers) {
        int in = ot.view().in, out = ot.view().out;
        int step = Math.max(1, Math.min(out, Converter.TILE_ELEMENTS / in));
        List<TileTask> tiles = new ArrayList<>();
        Preparation prep = ot.storage() == OutputTensor.Storage.ENCODE ? new Preparation(ot, step, importance, buffers) : null;
        for (int o = 0; o < out; o += step) tiles.add(new TileTask(buffers, tensor, ot, o, Math.min(step, out - o), prep));
        return tiles;
    }

    /** Whether this is the record's first tile. */
    boolean first() {
        return first;
    }

    /**
     * Work to start early for this task's record, on whichever worker is free: the prepare step
     * of an encoder that reads the whole matrix first (q4nl's channel statistics), so that the
     * workers do not all wait for it when the record's tiles come up. Null when there is none.
     * The result does not depend on which thread computes it or when.
     */
    Runnable warmUp() {
        return encoder == null || !ot.spec().encoding().needsChannelStats() ? null : encoder::get;
    }

    /**
     * The encoder of one record, prepared by the first tile to ask (the others wait for it). An
     * encoder that needs channel statistics gets them from one read of the whole record (in tile
     * order, so the result is deterministic).
     */
    static final class Preparation {
        private final OutputTensor ot;
        private final int step;
        private final float[] importance;
        private final Buffers buffers;
        private MatrixEncoder encoder;

        Preparation(OutputTensor ot, int step, float[] importance, Buffers buffers) {
            this.ot = ot;
            this.step = step;
            this.importance = importance;
            this.buffers = buffers;
        }

        synchronized MatrixEncoder get() {
            if (encoder == null) encoder = ot.spec().encoding().encoder(ot.spec(), ot.view().in, this::channelStats, importance);
            return encoder;
        }

        private Q4NlEncoder.ChannelStats channelStats() {
            MatrixView v = ot.view();
            if (v.channelStatsDirect()) {
                // xAI's layout: a channel is a source row, so its statistics need no transposition.
                double[] sumSq = new double[v.in];
                float[] absMax = new float[v.in];
                v.channelStats(sumSq, absMax);
                return Q4NlEncoder.ChannelStats.ofChannels(sumSq, absMax, v.out);
            }
            Scratch sc = buffers.scratch();
            Q4NlEncoder.ChannelStats stats = new Q4NlEncoder.ChannelStats(v.in);
            for (int o = 0; o < v.out; o += step) {
                int rows = Math.min(step, v.out - o);
                float[] x = sc.floats(rows * v.in);
                v.readFloats(o, rows, x, sc.bytes(Math.max(rows * v.in, MatrixView.BLOCK * rows)), sc.tmp(MatrixView.BLOCK * rows));
                stats.addRows(x, 0, rows);
            }
            return stats;
        }
    }

    @Override
    public Tile call() {
        MatrixView v = ot.view();
        EncodingSpec spec = ot.spec();
        int in = v.in;
        long sourceBytes = v.sourceBytes() * rows / v.out;
        int wBytes = Math.toIntExact(spec.weightBytes(in, rows));
        return switch (ot.storage()) {
            case COPY_F32_ROWS -> {
                // Lossless f32 (the embedding table, the norm vectors): the stored rows are the source
                // bytes, straight from the file (no user-space copy at all) where it can be had.
                FileRange range = v.rawF32FileRange(o0, rows);
                if (range != null) yield new Tile(tensor, first, last, null, new byte[0], 0, 0, 0, sourceBytes, range);
                byte[] w = buffers.reusedOr(wBytes); // every byte is overwritten
                v.readRawF32Rows(o0, rows, w);
                yield new Tile(tensor, first, last, w, new byte[0], 0, 0, 0, sourceBytes, null, true);
            }
            case COPY_INT8 -> {
                // Lossless: xAI's int8 values transposed, and their bf16 scales per (row, block).
                // readInt8 overwrites every byte, so a recycled buffer is as good as a new one.
                byte[] w = buffers.reusedOr(wBytes);
                v.readInt8(o0, rows, w);
                int blocks = v.blocks;
                byte[] s = new byte[Math.toIntExact(spec.scaleBytes(in, rows))];
                for (int t = 0; t < rows; t++) {
                    for (int b = 0; b < blocks; b++) {
                        short bits = v.scaleBits(b, o0 + t);
                        int at = 2 * (t * blocks + b);
                        s[at] = (byte) bits;
                        s[at + 1] = (byte) (bits >> 8);
                    }
                }
                yield new Tile(tensor, first, last, w, s, Math.toIntExact(spec.scaleBytes(in, o0)), 0, 0, sourceBytes, null, true);
            }
            case ENCODE -> encoded(v, wBytes, sourceBytes);
        };
    }

    /**
     * An encoded tile. The scales region is the encoder's header (q4nl's base and channel
     * scales; nothing for the others), then each row's scales: the first tile carries the
     * header, the others only their rows' scales, placed at {@code header + o0·scaleRowBytes}.
     */
    private Tile encoded(MatrixView v, int wBytes, long sourceBytes) {
        MatrixEncoder enc = encoder.get();
        Scratch sc = buffers.scratch();
        int in = v.in, h = enc.headerBytes(), sr = enc.scaleRowBytes(), lead = first ? h : 0;
        // A written tile's buffer of the same size, if any (no 1-2 MiB allocation per tile),
        // zeroed: the encoders expect zeroed bytes, as new.
        byte[] w = buffers.reusedOr(wBytes);
        java.util.Arrays.fill(w, (byte) 0);
        byte[] s = new byte[lead + rows * sr];
        if (first) enc.writeHeader(s, 0);
        float[] x = sc.floats(rows * in);
        v.readFloats(o0, rows, x, sc.bytes(Math.max(rows * in, MatrixView.BLOCK * rows)), sc.tmp(MatrixView.BLOCK * rows));
        enc.encodeRows(x, 0, rows, w, 0, s, lead);
        double sum = 0, err = 0;
        if (!ot.lossless()) {
            double[] e = ErrorStats.of(enc, x, rows, w, s, lead);
            sum = e[0];
            err = e[1];
        }
        return new Tile(tensor, first, last, w, s, first ? 0 : h + o0 * sr, sum, err, sourceBytes, null, true);
    }

    /** Per-thread buffers, grown on demand and reused across tiles. */
    private static final class Scratch {
        private float[] floats = new float[0], tmp = new float[0];
        private byte[] bytes = new byte[0];

        float[] floats(int n) {
            if (floats.length < n) floats = new float[n];
            return floats;
        }

        float[] tmp(int n) {
            if (tmp.length < n) tmp = new float[n];
            return tmp;
        }

        byte[] bytes(int n) {
            if (bytes.length < n) bytes = new byte[n];
            return bytes;
        }
    }
}
