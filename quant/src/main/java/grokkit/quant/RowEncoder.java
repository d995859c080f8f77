package grokkit.quant;

/**
 * Encodes out-major float rows (the {@code in} weights feeding one output) into an encoding's
 * bytes, exactly in the layout of {@link EncodingSpec}: one row's weight bytes are contiguous
 * in the weights region, its {@code in / groupSize} scales contiguous in the scales region.
 *
 * <p>Encoders are stateless and deterministic (same floats → same bytes, on any machine), so
 * rows can be encoded on many threads. {@code int8-rowblock} has no float encoder: it is xAI's
 * int8 data re-ordered, never re-quantized (see {@code grokkit.convert}). q4nl needs the whole
 * matrix first ({@link Q4NlEncoder}); {@link Encoding#encoder} gives every encoding's
 * {@link MatrixEncoder}, built on this class for the row-local ones.
 */
public abstract class RowEncoder {
    protected final EncodingSpec spec;

    protected RowEncoder(EncodingSpec spec) {
        this.spec = spec;
    }

    public EncodingSpec spec() {
        return spec;
    }

    /** An encoder for {@code spec}; q4 uses the squared-error scale search. */
    public static RowEncoder of(EncodingSpec spec) {
        return of(spec, Q4Encoder.ScaleChoice.SEARCH);
    }

    /**
     * An encoder for {@code spec}; {@code q4Choice} selects the q4 scale rule (others ignore it).
     * The converter always uses {@link Q4Encoder.ScaleChoice#SEARCH}; plain absmax is for tests
     * and measurements.
     *
     * @throws IllegalArgumentException for int8-rowblock (never re-encoded) and q4nl (a whole-matrix
     *                                  encoder: {@link Encoding#encoder})
     */
    public static RowEncoder of(EncodingSpec spec, Q4Encoder.ScaleChoice q4Choice) {
        return switch (spec.encoding()) {
            case F32 -> new FloatRows(spec, false);
            case BF16 -> new FloatRows(spec, true);
            case Q8 -> new Q8Encoder(spec);
            case Q4 -> new Q4Encoder(spec, q4Choice);
            case Q4_0 -> new Q4_0Encoder(spec);
            case INT8_ROWBLOCK, Q4NL -> throw new IllegalArgumentException(spec.name() + " has no row encoder");
        };
    }

    /** This encoder as the {@link MatrixEncoder} of an {@code [in, ·]} matrix (a row-local encoding needs no prepare step). */
    public MatrixEncoder forMatrix(int in) {
        spec.checkShape(in, 1);
        RowEncoder rows = this;
        int wr = weightRowBytes(in), sr = scaleRowBytes(in);
        return new MatrixEncoder() {
            @Override public EncodingSpec spec() { return spec; }
            @Override public int in() { return in; }
            @Override public int weightRowBytes() { return wr; }
            @Override public int scaleRowBytes() { return sr; }

            @Override
            public void encodeRows(float[] src, int srcOff, int n, byte[] w, int wOff, byte[] s, int sOff) {
                rows.encodeRows(src, srcOff, n, in, w, wOff, s, sOff);
            }

            @Override
            public void decodeRow(byte[] w, int wOff, byte[] s, int sOff, float[] dst) {
                rows.decodeRow(w, wOff, s, sOff, in, dst);
            }
        };
    }

    /**
     * Decodes one encoded row (weights at {@code w[wOff..]}, scales at {@code s[sOff..]}) into
     * {@code dst[0, in)}: by default through {@link Dequantizer#row}; subclasses decode the same
     * values straight from the arrays where it matters for conversion speed.
     */
    public void decodeRow(byte[] w, int wOff, byte[] s, int sOff, int in, float[] dst) {
        java.lang.foreign.MemorySegment ws = java.lang.foreign.MemorySegment.ofArray(w).asSlice(wOff, weightRowBytes(in));
        java.lang.foreign.MemorySegment ss = java.lang.foreign.MemorySegment.ofArray(s).asSlice(sOff, scaleRowBytes(in));
        Dequantizer.row(spec, ws, ss, in, 0, dst);
    }

    /**
     * The q4 / q4_0 nibble decode of a row whose {@code in} is a multiple of the group size:
     * {@code w' = (q − 8) · scale}, the arithmetic of {@link Dequantizer#row}.
     */
    static void decodeNibbleRow(EncodingSpec spec, byte[] w, int wOff, byte[] s, int sOff, int in, float[] dst) {
        int g = spec.groupSize(), half = g / 2, groups = in / g;
        String st = spec.scaleType();
        for (int k = 0; k < groups; k++) {
            float sc = Halfs.fromScale(LittleEndian.getShort(s, sOff + 2 * k), st);
            int rb = k * g, wb = wOff + k * half;
            for (int j = 0; j < half; j++) {
                int b = w[wb + j] & 0xff;
                dst[rb + j] = ((b & 15) - 8) * sc;
                dst[rb + half + j] = ((b >>> 4) - 8) * sc;
            }
        }
    }

    /** Bytes of one row in the weights region. */
    public int weightRowBytes(int in) {
        return (int) spec.weightBytes(in, 1);
    }

    /** Bytes of one row in the scales region. */
    public int scaleRowBytes(int in) {
        return (int) spec.scaleBytes(in, 1);
    }

    /**
     * Encodes {@code rows} consecutive rows of {@code in} floats starting at {@code src[srcOff]}
     * into {@code weights[wOff..]} and {@code scales[sOff..]} (rows back to back).
     */
    public void encodeRows(float[] src, int srcOff, int rows, int in, byte[] weights, int wOff, byte[] scales, int sOff) {
        int wr = weightRowBytes(in), sr = scaleRowBytes(in);
        for (int r = 0; r < rows; r++) encodeRow(src, srcOff + r * in, in, weights, wOff + r * wr, scales, sOff + r * sr);
    }

    /** Encodes one row of {@code in} floats. */
    public abstract void encodeRow(float[] src, int srcOff, int in, byte[] weights, int wOff, byte[] scales, int sOff);

    /** f32 (raw little-endian) and bf16 (round to nearest even) rows. */
    static final class FloatRows extends RowEncoder {
        private final boolean bf16;

        FloatRows(EncodingSpec spec, boolean bf16) {
            super(spec);
            this.bf16 = bf16;
        }

        @Override
        public void encodeRow(float[] src, int srcOff, int in, byte[] w, int wOff, byte[] s, int sOff) {
            if (bf16) for (int i = 0; i < in; i++) LittleEndian.putShort(w, wOff + 2 * i, Halfs.floatToBf16(src[srcOff + i]));
            else for (int i = 0; i < in; i++) LittleEndian.putFloat(w, wOff + 4 * i, src[srcOff + i]);
        }

        @Override
        public void decodeRow(byte[] w, int wOff, byte[] s, int sOff, int in, float[] dst) {
            if (bf16) for (int i = 0; i < in; i++) dst[i] = Halfs.bf16ToFloat(LittleEndian.getShort(w, wOff + 2 * i));
            else for (int i = 0; i < in; i++) dst[i] = LittleEndian.getFloat(w, wOff + 4 * i);
        }
    }

    /** Symmetric int8 per group: scale = absmax/127 rounded to the scale type, q = round(x/scale). */
    static final class Q8Encoder extends RowEncoder {
        Q8Encoder(EncodingSpec spec) {
            super(spec);
        }

        @Override
        public void encodeRow(float[] src, int srcOff, int in, byte[] w, int wOff, byte[] s, int sOff) {
            int g = spec.groupSize();
            String st = spec.scaleType();
            for (int k = 0; k < in / g; k++) {
                int base = srcOff + k * g;
                float amax = 0;
                for (int j = 0; j < g; j++) amax = Math.max(amax, Math.abs(src[base + j]));
                float scale = Halfs.roundToScale(amax / 127f, st);
                if (!Float.isFinite(scale)) scale = Halfs.maxFinite(st);
                float inv = scale == 0 ? 0 : 1f / scale;
                for (int j = 0; j < g; j++) {
                    float q = Math.clamp(Math.round(src[base + j] * inv), -127, 127);
                    w[wOff + k * g + j] = (byte) q;
                }
                LittleEndian.putShort(s, sOff + 2 * k, Halfs.toScale(scale, st));
            }
        }
    }

    /** llama.cpp's Q4_0 block math (quantize_row_q4_0_ref), re-implemented from its description. */
    static final class Q4_0Encoder extends RowEncoder {
        Q4_0Encoder(EncodingSpec spec) {
            super(spec);
        }

        @Override
        public void decodeRow(byte[] w, int wOff, byte[] s, int sOff, int in, float[] dst) {
            // A ragged row (in not a multiple of 32) takes the generic path.
            if (in % spec.groupSize() == 0) decodeNibbleRow(spec, w, wOff, s, sOff, in, dst);
            else super.decodeRow(w, wOff, s, sOff, in, dst);
        }

        @Override
        public void encodeRow(float[] src, int srcOff, int in, byte[] w, int wOff, byte[] s, int sOff) {
            int g = spec.groupSize(), half = g / 2, groups = spec.groupsPerRow(in);
            float[] x = new float[g];
            for (int k = 0; k < groups; k++) {
                // A ragged last block (in not a multiple of 32) is zero-padded, as llama.cpp would
                // quantize a zero-padded row: zeros get code 8 (= 0) and never move the scale.
                int n = Math.min(g, in - k * g);
                System.arraycopy(src, srcOff + k * g, x, 0, n);
                java.util.Arrays.fill(x, n, g, 0f);
                // The value of largest magnitude, keeping its sign (first one on ties).
                float amax = 0, max = 0;
                for (int j = 0; j < g; j++) {
                    float v = x[j];
                    if (amax < Math.abs(v)) {
                        amax = Math.abs(v);
                        max = v;
                    }
                }
                float d = max / -8f;
                float id = d != 0 ? 1f / d : 0f;
                LittleEndian.putShort(s, sOff + 2 * k, Halfs.floatToF16(d));
                int wb = wOff + k * half;
                for (int j = 0; j < half; j++) {
                    // Truncation of x/d + 8.5 (always > -1 here) is rounding half up around the +8 offset.
                    int lo = Math.min(15, (int) (x[j] * id + 8.5f));
                    int hi = Math.min(15, (int) (x[half + j] * id + 8.5f));
                    w[wb + j] = (byte) (lo | (hi << 4));
                }
            }
        }
    }
}
