package grokkit.convert;

import grokkit.quant.Dequantizer;
import grokkit.quant.EncodingSpec;
import grokkit.quant.MatrixEncoder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Σw² and Σ(w'−w)² in float64 for a tile: {@code x} the source values (out-major rows), the
 * tile's encoded bytes decoded back to float32 one row at a time (w').
 *
 * <p>The sums are taken in 8 fixed float64 lanes (see {@link Sums}): input i of every row goes to
 * lane {@code i mod 8}, each lane adds its terms in row order, and the 8 lanes are added 0..7 at
 * the end, because one sequential sum is a chain of dependent float64 additions that would cost
 * more than the rest of the conversion but the encoder (measured: docs/benchmarks/encoders.md).
 * The result depends only on the tile's shape and values
 * (tiles are fixed by the record's shape, never by the thread count), so the report stays
 * deterministic; it differs from the sequential sum only by float64 rounding (relative ~1e-15 on
 * a tile, ErrorStatsTest checks both against an exact sum). Every path, including the generic
 * one, uses the same lanes, and the encoders' decoders compute the {@link Dequantizer}'s values,
 * so the result is bit-identical to the {@link Dequantizer} path.
 */
final class ErrorStats {
    private ErrorStats() {}

    /**
     * Returns {Σw², Σ(w'−w)²} of a tile that {@code enc} encoded: {@code x} its {@code rows}
     * source rows, {@code w} its weight bytes (from 0), {@code s} its scales with the rows' scales
     * from {@code sOff} on (after the header, if the tile carries it). w' is the encoder's
     * {@link MatrixEncoder#decodeRow}, which decodes exactly as {@link Dequantizer} does.
     */
    static double[] of(MatrixEncoder enc, float[] x, int rows, byte[] w, byte[] s, int sOff) {
        int in = enc.in(), wr = enc.weightRowBytes(), sr = enc.scaleRowBytes();
        float[] row = new float[in];
        Sums sums = new Sums((long) rows * in);
        for (int t = 0; t < rows; t++) {
            enc.decodeRow(w, t * wr, s, sOff + t * sr, row);
            sums.add(x, t * in, row, in);
        }
        return sums.result();
    }

    /** Any encoding, through {@link Dequantizer} (the reference the fast paths must match bit for bit). */
    static double[] generic(EncodingSpec spec, float[] x, int rows, int in, byte[] w, byte[] s) {
        float[] row = new float[in];
        MemorySegment ws = MemorySegment.ofArray(w), ss = MemorySegment.ofArray(s);
        Sums sums = new Sums((long) rows * in);
        for (int t = 0; t < rows; t++) {
            Dequantizer.row(spec, ws, ss, in, t, row);
            sums.add(x, t * in, row, in);
        }
        return sums.result();
    }

    /**
     * Σa² and Σ(b−a)² over pairs of float32 rows, in float64. Of each row, the inputs below
     * {@code n − n mod 8} ("body") add to body lane {@code i mod 8}, the others ("tail") to tail
     * lane {@code i mod 8}; each lane adds its terms in order ({@code acc = acc + term}, the term
     * rounded to float64 first: {@code a·a}, {@code ((double) b − a)²}). {@link #result} adds,
     * for lanes 0..7 in order, body lane + tail lane. The vector path (body lanes 0–3 and 4–7 as
     * two 4×float64 vectors) and the scalar path perform exactly these operations, so which one
     * runs never changes a bit.
     */
    static final class Sums {
        private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
        private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;
        /**
         * Below this many terms the scalar path runs (same bits): until C2 has compiled the lane
         * code, the Vector API is far slower than scalar code, and small tiles (tests) never pay back.
         */
        static final long LANES_FROM = 1 << 16;
        private final boolean lanes;
        /** Body lanes 0..7 of Σa² and of Σ(b−a)² (kept in arrays, not vector fields: C2 only intrinsifies vectors of a known shape). */
        private final double[] bodySum = new double[8], bodyErr = new double[8], tailSum = new double[8], tailErr = new double[8];

        Sums(long terms) {
            this(terms >= LANES_FROM);
        }

        /** {@code lanes}: whether the vector path runs (tests compare the two). */
        Sums(boolean lanes) {
            this.lanes = lanes;
        }

        /** Adds the pairs {@code (a, b) = (x[xOff + i], y[i])}, i in [0, n): one row. */
        void add(float[] x, int xOff, float[] y, int n) {
            int n8 = n & ~7;
            if (lanes) {
                DoubleVector sl = DoubleVector.fromArray(D4, bodySum, 0), sh = DoubleVector.fromArray(D4, bodySum, 4);
                DoubleVector el = DoubleVector.fromArray(D4, bodyErr, 0), eh = DoubleVector.fromArray(D4, bodyErr, 4);
                for (int i = 0; i < n8; i += 8) {
                    DoubleVector a0 = (DoubleVector) FloatVector.fromArray(F4, x, xOff + i).convertShape(VectorOperators.F2D, D4, 0);
                    DoubleVector a1 = (DoubleVector) FloatVector.fromArray(F4, x, xOff + i + 4).convertShape(VectorOperators.F2D, D4, 0);
                    DoubleVector b0 = (DoubleVector) FloatVector.fromArray(F4, y, i).convertShape(VectorOperators.F2D, D4, 0);
                    DoubleVector b1 = (DoubleVector) FloatVector.fromArray(F4, y, i + 4).convertShape(VectorOperators.F2D, D4, 0);
                    DoubleVector d0 = b0.sub(a0), d1 = b1.sub(a1);
                    sl = sl.add(a0.mul(a0));
                    sh = sh.add(a1.mul(a1));
                    el = el.add(d0.mul(d0));
                    eh = eh.add(d1.mul(d1));
                }
                sl.intoArray(bodySum, 0);
                sh.intoArray(bodySum, 4);
                el.intoArray(bodyErr, 0);
                eh.intoArray(bodyErr, 4);
            } else {
                for (int i = 0; i < n8; i++) {
                    double a = x[xOff + i], d = (double) y[i] - a;
                    bodySum[i & 7] += a * a;
                    bodyErr[i & 7] += d * d;
                }
            }
            for (int i = n8; i < n; i++) {
                double a = x[xOff + i], d = (double) y[i] - a;
                tailSum[i & 7] += a * a;
                tailErr[i & 7] += d * d;
            }
        }

        /** {Σa², Σ(b−a)²}. */
        double[] result() {
            double[] bs = bodySum, be = bodyErr;
            double ts = 0, te = 0;
            for (int l = 0; l < 8; l++) {
                ts += bs[l] + tailSum[l];
                te += be[l] + tailErr[l];
            }
            return new double[] {ts, te};
        }
    }
}
