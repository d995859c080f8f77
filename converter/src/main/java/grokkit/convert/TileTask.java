package grokkit.convert;

import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4NlEncoder;
import grokkit.quant.RowEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Encodes output rows {@code [o0, o0 + rows)} of one output record: reads them from the source
 * (transposing to out-major), encodes them, and measures their error. Runs on a worker thread;
 * the result holds only encoded bytes.
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

    /** A recycled buffer of exactly {@code n} bytes (contents arbitrary), or a new one. */
    private static byte[] reusedOr(int n) {
        for (byte[] b; (b = FREE.poll()) != null; ) if (b.length == n) return b;
        return new byte[n];
    }

    /** Called by the writer once a tile's bytes are written: its weight buffer may serve another tile. */
    static void recycle(Tile t) {
        if (t.recyclable()) FREE.offer(t.weights());
    }

    /**
     * Source bytes to be copied unchanged, file to file by the kernel ({@code copy_file_range}):
     * {@code bytes} (the mapped view of the same range) is what the writer checksums.
     */
    record FileRange(java.nio.file.Path file, long offset, java.lang.foreign.MemorySegment bytes) {}

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /**
     * Weight buffers of written tiles, handed back by the writer ({@link #recycle}) for the
     * next tiles: no 2 MiB allocation (zeroing, GC) per tile. Bounded, and only arrays of the
     * exact size asked for are reused, so it never holds more than a window of tiles.
     */
    private static final java.util.concurrent.ArrayBlockingQueue<byte[]> FREE = new java.util.concurrent.ArrayBlockingQueue<>(16);

    private final int tensor;
    private final OutputTensor ot;
    private final int o0, rows;
    private final boolean first, last;
    /** q4nl: the record's encoder, prepared once from a statistics pass over all its rows (shared by its tiles). */
    private final Q4NlPrep q4nl;

    private TileTask(int tensor, OutputTensor ot, int o0, int rows, Q4NlPrep q4nl) {
        this.tensor = tensor;
        this.ot = ot;
        this.o0 = o0;
        this.rows = rows;
        this.q4nl = q4nl;
        this.first = o0 == 0;
        this.last = o0 + rows == ot.view().out;
    }

    /** The tiles of one record, in order. */
    static List<TileTask> split(int tensor, OutputTensor ot) {
        return split(tensor, ot, null);
    }

    /** As {@link #split(int, OutputTensor)}, a q4nl record's error weighted per input by {@code importance} (or null). */
    static List<TileTask> split(int tensor, OutputTensor ot, float[] importance) {
        int in = ot.view().in, out = ot.view().out;
        int step = Math.max(1, Math.min(out, Converter.TILE_ELEMENTS / in));
        List<TileTask> tiles = new ArrayList<>();
        Q4NlPrep prep = ot.spec().name().equals(EncodingSpec.Q4NL) ? new Q4NlPrep(ot, step, importance) : null;
        for (int o = 0; o < out; o += step) tiles.add(new TileTask(tensor, ot, o, Math.min(step, out - o), prep));
        return tiles;
    }

    /** Whether this is the record's first tile. */
    boolean first() {
        return first;
    }

    /**
     * Work to start early for this task's record, on whichever worker is free: its q4nl
     * preparation (a pass over every row), so that the workers do not all wait for it when the
     * record's tiles come up. Null when there is none. The result does not depend on which
     * thread computes it or when.
     */
    Runnable warmUp() {
        return q4nl == null ? null : () -> q4nl.get(SCRATCH.get());
    }

    /**
     * The q4nl encoder of one record: channel statistics need every row before any row is
     * encoded, so the first tile to ask reads the whole record once (in tile order, so the
     * result is deterministic) and the others wait for it.
     */
    static final class Q4NlPrep {
        private final OutputTensor ot;
        private final int step;
        private final float[] importance;
        private Q4NlEncoder encoder;
        /** The decoding tables of the encoder's header, for the error statistics of every tile. */
        private ErrorStats.Q4NlTables tables;

        Q4NlPrep(OutputTensor ot, int step, float[] importance) {
            this.ot = ot;
            this.step = step;
            this.importance = importance;
        }

        synchronized Q4NlEncoder get(Scratch sc) {
            if (encoder == null) {
                MatrixView v = ot.view();
                Q4NlEncoder.ChannelStats stats = new Q4NlEncoder.ChannelStats(v.in);
                if (v.channelStatsDirect()) {
                    // xAI's layout: a channel is a source row, so its statistics need no transposition.
                    double[] sumSq = new double[v.in];
                    float[] absMax = new float[v.in];
                    v.channelStats(sumSq, absMax);
                    stats = Q4NlEncoder.ChannelStats.ofChannels(sumSq, absMax, v.out);
                } else {
                    for (int o = 0; o < v.out; o += step) {
                        int rows = Math.min(step, v.out - o);
                        float[] x = sc.floats(rows * v.in);
                        v.readFloats(o, rows, x, sc.bytes(Math.max(rows * v.in, MatrixView.BLOCK * rows)), sc.tmp(MatrixView.BLOCK * rows));
                        stats.addRows(x, 0, rows);
                    }
                }
                Q4NlEncoder e = Q4NlEncoder.prepare(ot.spec(), stats, importance);
                byte[] header = new byte[e.headerBytes()];
                e.writeHeader(header, 0);
                tables = ErrorStats.Q4NlTables.of(header, v.in);
                encoder = e;
            }
            return encoder;
        }

        /** The tables of the encoder's header; call after {@link #get}. */
        synchronized ErrorStats.Q4NlTables tables() {
            return tables;
        }
    }

    @Override
    public Tile call() {
        MatrixView v = ot.view();
        EncodingSpec spec = ot.spec();
        int in = v.in;
        Scratch sc = SCRATCH.get();
        long sourceBytes = v.sourceBytes() * rows / v.out;
        if (spec.name().equals(EncodingSpec.F32) && v.rawF32Rows() && spec.scaleBytes(in, rows) == 0) {
            // Lossless f32 (the embedding table) straight from a file: no user-space copy at all.
            FileRange range = v.rawF32FileRange(o0, rows);
            if (range != null) return new Tile(tensor, first, last, null, new byte[0], 0, 0, 0, sourceBytes, range);
        }
        int wBytes = Math.toIntExact(spec.weightBytes(in, rows));
        // A written tile's buffer of the same size, if any (no 1-2 MiB allocation per tile). The
        // int8 and raw f32 paths overwrite every byte; the encoders get it zeroed, as new.
        byte[] w = reusedOr(wBytes);
        boolean overwritten = spec.name().equals(EncodingSpec.INT8_ROWBLOCK) || (spec.name().equals(EncodingSpec.F32) && v.rawF32Rows());
        if (!overwritten) java.util.Arrays.fill(w, (byte) 0);
        byte[] s = new byte[Math.toIntExact(spec.scaleBytes(in, rows))];
        int scaleOffset = Math.toIntExact(spec.scaleBytes(in, o0));
        if (spec.name().equals(EncodingSpec.INT8_ROWBLOCK)) {
            // Lossless: xAI's int8 values transposed, and their bf16 scales per (row, block).
            // readInt8 overwrites every byte, so a recycled buffer is as good as a new one.
            v.readInt8(o0, rows, w);
            int blocks = v.blocks;
            for (int t = 0; t < rows; t++) {
                for (int b = 0; b < blocks; b++) {
                    short bits = v.scaleBits(b, o0 + t);
                    int at = 2 * (t * blocks + b);
                    s[at] = (byte) bits;
                    s[at + 1] = (byte) (bits >> 8);
                }
            }
            return new Tile(tensor, first, last, w, s, scaleOffset, 0, 0, sourceBytes, null, true);
        }
        if (spec.name().equals(EncodingSpec.F32) && v.rawF32Rows()) {
            // Lossless f32 (the embedding table): the stored rows are the source bytes.
            v.readRawF32Rows(o0, rows, w);
            return new Tile(tensor, first, last, w, s, scaleOffset, 0, 0, sourceBytes, null, true);
        }
        if (q4nl != null) return q4nlTile(v, spec, sc, w, sourceBytes);
        float[] x = sc.floats(rows * in);
        v.readFloats(o0, rows, x, sc.bytes(Math.max(rows * in, MatrixView.BLOCK * rows)), sc.tmp(MatrixView.BLOCK * rows));
        sc.encoder(spec).encodeRows(x, 0, rows, in, w, 0, s, 0);
        double sum = 0, err = 0;
        if (!ot.lossless()) {
            double[] e = ErrorStats.of(spec, x, rows, in, w, s);
            sum = e[0];
            err = e[1];
        }
        return new Tile(tensor, first, last, w, s, scaleOffset, sum, err, sourceBytes, null, true);
    }

    /**
     * A q4nl tile. The scales region starts with the record's header (base, channel scales),
     * then row o's group scales at {@code header + o·groups}: the first tile carries the header,
     * the others only their rows' group scales, placed at that offset.
     */
    private Tile q4nlTile(MatrixView v, EncodingSpec spec, Scratch sc, byte[] w, long sourceBytes) {
        Q4NlEncoder enc = q4nl.get(sc);
        int in = v.in, h = enc.headerBytes(), gr = enc.scaleRowBytes();
        float[] x = sc.floats(rows * in);
        v.readFloats(o0, rows, x, sc.bytes(Math.max(rows * in, MatrixView.BLOCK * rows)), sc.tmp(MatrixView.BLOCK * rows));
        byte[] full = new byte[h + rows * gr];
        enc.writeHeader(full, 0);
        enc.encodeRows(x, 0, rows, w, 0, full, h);
        double[] e = ErrorStats.q4nl(spec, x, rows, in, w, full, q4nl.tables());
        byte[] s = first ? full : java.util.Arrays.copyOfRange(full, h, full.length);
        return new Tile(tensor, first, last, w, s, first ? 0 : h + o0 * gr, e[0], e[1], sourceBytes, null, true);
    }

    /** Per-thread buffers, grown on demand and reused across tiles. */
    private static final class Scratch {
        private float[] floats = new float[0], tmp = new float[0];
        private byte[] bytes = new byte[0];
        private EncodingSpec spec;
        private RowEncoder encoder;

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

        RowEncoder encoder(EncodingSpec s) {
            if (!s.equals(spec)) {
                spec = s;
                encoder = RowEncoder.of(s, ConvertOptions.Q4_CHOICE);
            }
            return encoder;
        }
    }
}
