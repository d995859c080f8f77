package grokkit.convert;

import grokkit.quant.EncodingSpec;
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
    /** An encoded tile, in the order the writer appends it. */
    record Tile(int tensor, boolean first, boolean last, byte[] weights, byte[] scales, int scaleOffset,
                double sumSq, double errSq, long sourceBytes) {}

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final int tensor;
    private final OutputTensor ot;
    private final int o0, rows;
    private final boolean first, last;

    private TileTask(int tensor, OutputTensor ot, int o0, int rows) {
        this.tensor = tensor;
        this.ot = ot;
        this.o0 = o0;
        this.rows = rows;
        this.first = o0 == 0;
        this.last = o0 + rows == ot.view().out;
    }

    /** The tiles of one record, in order. */
    static List<TileTask> split(int tensor, OutputTensor ot) {
        int in = ot.view().in, out = ot.view().out;
        int step = Math.max(1, Math.min(out, Converter.TILE_ELEMENTS / in));
        List<TileTask> tiles = new ArrayList<>();
        for (int o = 0; o < out; o += step) tiles.add(new TileTask(tensor, ot, o, Math.min(step, out - o)));
        return tiles;
    }

    @Override
    public Tile call() {
        MatrixView v = ot.view();
        EncodingSpec spec = ot.spec();
        int in = v.in;
        Scratch sc = SCRATCH.get();
        long sourceBytes = v.sourceBytes() * rows / v.out;
        byte[] w = new byte[Math.toIntExact(spec.weightBytes(in, rows))];
        byte[] s = new byte[Math.toIntExact(spec.scaleBytes(in, rows))];
        int scaleOffset = Math.toIntExact(spec.scaleBytes(in, o0));
        if (spec.name().equals(EncodingSpec.INT8_ROWBLOCK)) {
            // Lossless: xAI's int8 values transposed, and their bf16 scales per (row, block).
            v.readInt8(o0, rows, w, sc.bytes(MatrixView.BLOCK * rows));
            int blocks = v.blocks;
            for (int t = 0; t < rows; t++) {
                for (int b = 0; b < blocks; b++) {
                    short bits = v.scaleBits(b, o0 + t);
                    int at = 2 * (t * blocks + b);
                    s[at] = (byte) bits;
                    s[at + 1] = (byte) (bits >> 8);
                }
            }
            return new Tile(tensor, first, last, w, s, scaleOffset, 0, 0, sourceBytes);
        }
        if (spec.name().equals(EncodingSpec.F32) && v.rawF32Rows()) {
            // Lossless f32 (the embedding table): the stored rows are the source bytes.
            v.readRawF32Rows(o0, rows, w);
            return new Tile(tensor, first, last, w, s, scaleOffset, 0, 0, sourceBytes);
        }
        float[] x = sc.floats(rows * in);
        v.readFloats(o0, rows, x, sc.bytes(Math.max(rows * in, MatrixView.BLOCK * rows)), sc.tmp(MatrixView.BLOCK * rows));
        sc.encoder(spec).encodeRows(x, 0, rows, in, w, 0, s, 0);
        double sum = 0, err = 0;
        if (!ot.lossless()) {
            double[] e = ErrorStats.of(spec, x, rows, in, w, s);
            sum = e[0];
            err = e[1];
        }
        return new Tile(tensor, first, last, w, s, scaleOffset, sum, err, sourceBytes);
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
