package grokkit.quant;

import java.util.Arrays;

/**
 * Encodes out-major float rows into {@code q4nl} ({@link Q4Nl}): per group, a scale search that
 * minimises the (optionally importance-weighted) squared error on the non-uniform grid.
 *
 * <p>The search: for candidate scales {@code d = ±amax/127 · f} ({@link #FACTORS}, both signs
 * because the grid is asymmetric) each input gets its nearest level, then d is refitted by
 * weighted least squares for that assignment. The refitted error is
 * {@code Σw·x² − (Σw·x·L)² / Σw·L²}, so one pass over the group per candidate suffices; the
 * candidate maximising {@code (Σw·x·L)² / Σw·L²} wins. Its scale is rounded to the stored
 * 16-bit type and the codes are re-assigned for the rounded scale.
 *
 * <p>Weights of the error: with no importance, every input counts
 * {@code sqrt(σ² + x²)} (σ² = twice the group's mean square; it leans toward the larger
 * weights, which carry more of the output). With an importance vector
 * ({@code E[x_i²]} of input i over calibration tokens, see {@link Imatrix}) the error of input
 * i is also multiplied by it, so inputs that see large activations are reproduced better.
 *
 * <p>Deterministic: plain scalar float arithmetic in a fixed order (same floats → same bytes on
 * every machine); instances are immutable and may be shared by threads.
 */
public final class Q4NlEncoder {
    /** Scale candidates, as multiples of amax/127 (both signs are tried). */
    static final float[] FACTORS = {0.8f, 0.85f, 0.9f, 0.95f, 1.0f, 1.05f, 1.1f, 1.15f, 1.2f};

    private final EncodingSpec spec;
    private final float[] importance;

    /**
     * @param spec       a {@code q4nl} spec (any even group size, f16 or bf16 scales)
     * @param importance per-input importance (length {@code in} of the rows to encode, all
     *                   finite and ≥ 0), or null for none
     */
    public Q4NlEncoder(EncodingSpec spec, float[] importance) {
        if (!EncodingSpec.Q4NL.equals(spec.name())) throw new IllegalArgumentException("not a q4nl spec: " + spec);
        if (spec.groupSize() <= 0 || spec.groupSize() % 2 != 0)
            throw new IllegalArgumentException("q4nl group size must be positive and even, got " + spec.groupSize());
        if (!"f16".equals(spec.scaleType()) && !"bf16".equals(spec.scaleType()))
            throw new IllegalArgumentException("q4nl scale type must be f16 or bf16, got " + spec.scaleType());
        if (importance != null) {
            for (float v : importance)
                if (!(v >= 0) || !Float.isFinite(v)) throw new IllegalArgumentException("importance must be finite and >= 0, got " + v);
        }
        this.spec = spec;
        this.importance = importance == null ? null : importance.clone();
    }

    public EncodingSpec spec() {
        return spec;
    }

    /** Bytes of one row in the weights region. */
    public int weightRowBytes(int in) {
        return (int) spec.weightBytes(in, 1);
    }

    /** Bytes of one row in the scales region. */
    public int scaleRowBytes(int in) {
        return (int) spec.scaleBytes(in, 1);
    }

    /** Encodes {@code rows} consecutive rows of {@code in} floats (rows back to back in every array). */
    public void encodeRows(float[] src, int srcOff, int rows, int in, byte[] weights, int wOff, byte[] scales, int sOff) {
        int wr = weightRowBytes(in), sr = scaleRowBytes(in);
        for (int r = 0; r < rows; r++) encodeRow(src, srcOff + r * in, in, weights, wOff + r * wr, scales, sOff + r * sr);
    }

    /** Encodes one row: {@code src[srcOff .. srcOff+in)} → weight bytes at {@code w[wOff..]}, scales at {@code s[sOff..]}. */
    public void encodeRow(float[] src, int srcOff, int in, byte[] w, int wOff, byte[] s, int sOff) {
        if (importance != null && importance.length != in)
            throw new IllegalArgumentException("importance has " + importance.length + " entries, rows have in=" + in);
        int g = spec.groupSize(), half = g / 2, groups = Q4Nl.groups(in, g);
        float[] x = new float[g], wt = new float[g];
        for (int k = 0; k < groups; k++) {
            int i0 = k * g, n = Math.min(g, in - i0);
            System.arraycopy(src, srcOff + i0, x, 0, n);
            Arrays.fill(x, n, g, 0f);
            errorWeights(x, n, i0, wt);
            float d = searchScale(x, wt, n);
            short bits = toScale(d);
            putShort(s, sOff + 2 * k, bits);
            pack(x, n, Q4Nl.decodeScale(bits, spec.scaleType()), w, wOff + k * half, half);
        }
    }

    /** The squared-error weight of each of the group's n inputs (0 for padding). */
    private void errorWeights(float[] x, int n, int i0, float[] wt) {
        float ms = 0;
        for (int j = 0; j < n; j++) ms = Math.fma(x[j], x[j], ms);
        float sigma2 = 2f * ms / n;
        for (int j = 0; j < n; j++) {
            float v = (float) Math.sqrt(sigma2 + x[j] * x[j]);
            wt[j] = importance == null ? v : v * importance[i0 + j];
        }
        Arrays.fill(wt, n, wt.length, 0f);
    }

    /** The least-squares scale of the best candidate (0 for an all-zero group). */
    static float searchScale(float[] x, float[] wt, int n) {
        float amax = 0;
        for (int j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[j]));
        if (amax == 0) return 0;
        float bestScore = -1, bestD = amax / 127f;
        for (int sign = 1; sign >= -1; sign -= 2) {
            for (float f : FACTORS) {
                float d = sign * amax / 127f * f;
                float inv = 1f / d;
                float sxl = 0, sll = 0;
                for (int j = 0; j < n; j++) {
                    float l = Q4Nl.LEVEL_F[Q4Nl.nearest(x[j] * inv)];
                    float wl = wt[j] * l;
                    sxl = Math.fma(wl, x[j], sxl);
                    sll = Math.fma(wl, l, sll);
                }
                if (sll <= 0) continue;
                float score = sxl * sxl / sll;
                if (score > bestScore) {
                    bestScore = score;
                    bestD = sxl / sll;
                }
            }
        }
        // All weights zero (e.g. zero importance everywhere): fall back to plain amax.
        return bestScore > 0 ? bestD : amax / 127f;
    }

    /** The scale's 16-bit encoding; values beyond the type's range saturate to its largest finite value. */
    private short toScale(float d) {
        boolean bf16 = "bf16".equals(spec.scaleType());
        short bits = bf16 ? floatToBf16(d) : Float.floatToFloat16(d);
        if (!Float.isFinite(Q4Nl.decodeScale(bits, spec.scaleType())))
            bits = bf16 ? (short) (0x7f7f | (d < 0 ? 0x8000 : 0)) : (short) (0x7bff | (d < 0 ? 0x8000 : 0));
        return bits;
    }

    /** Writes the codes of one group for the (rounded) scale d; padding gets the zero code. */
    static void pack(float[] x, int n, float d, byte[] w, int off, int half) {
        float inv = d == 0 ? 0 : 1f / d;
        for (int j = 0; j < half; j++) {
            int lo = j < n ? Q4Nl.nearest(x[j] * inv) : Q4Nl.ZERO_CODE;
            int hi = j + half < n ? Q4Nl.nearest(x[j + half] * inv) : Q4Nl.ZERO_CODE;
            w[off + j] = (byte) (lo | (hi << 4));
        }
    }

    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    private static void putShort(byte[] a, int off, short v) {
        a[off] = (byte) v;
        a[off + 1] = (byte) (v >>> 8);
    }
}
