package grokkit.gguf.blocks;

/**
 * The scale searches behind grok-kit's GGUF quantizers: pick the scale (and, for affine grids,
 * the offset) of a block of values that minimises the weighted squared error
 * {@code Σ w_j (x_j − x̂_j)²}, the way {@code grokkit.quant.Q4Encoder} (uniform grid) and
 * {@code Q4NlEncoder} (non-uniform grid) choose their group scales: a set of candidate scales,
 * for each the nearest codes, then a weighted least-squares refit of the scale for those codes;
 * the best candidate is refined by alternating "nearest codes" and "refit" (each step can only
 * lower the error). The callers round the winner to the stored precision and re-assign codes for
 * the stored value, so the codes are always the nearest ones for what the decoder will compute.
 *
 * <p>Weights: {@link #errorWeights}, the importance (an importance matrix's mean squared
 * activation of each input) or 1.
 *
 * <p>All arithmetic is sequential float/double in a fixed order: same inputs, same result on any
 * machine or thread. Nothing here allocates; callers pass scratch arrays.
 */
final class ScaleSearch {
    private ScaleSearch() {}

    /** A grid of levels for a symmetric (scale-only) block: {@code x̂ = d · level(code)}. */
    interface Grid {
        /** The code of the level nearest to {@code v} (v in level units), clamped to the grid. */
        int nearest(float v);

        float level(int code);

        /** The most negative level (the grid may be asymmetric). */
        float lowest();

        /** The most positive level. */
        float highest();
    }

    /** The integer grid {@code lo..hi}; code = level − lo. */
    static Grid uniform(int lo, int hi) {
        return new Grid() {
            public int nearest(float v) {
                float r = (float) Math.rint(v);
                return (int) (Math.min(hi, Math.max(lo, r)) - lo);
            }

            public float level(int code) { return code + lo; }

            public float lowest() { return lo; }

            public float highest() { return hi; }
        };
    }

    /** Ratios of the scale that maps the largest-magnitude value to an extreme level: both sides of 1 (below 1 clips it). */
    static final float[] SYMMETRIC_FACTORS = {0.84f, 0.88f, 0.92f, 0.96f, 1.0f, 1.04f, 1.08f, 1.12f, 1.16f};

    /** Fractions of an affine block's range clipped at either end (every pair is a candidate). */
    static final float[] AFFINE_CLIPS = {0f, 0.04f, 0.08f, 0.12f};

    /** Alternations of nearest codes and refit after the candidate search. */
    static final int REFINE_STEPS = 2;

    /**
     * The error weights of {@code x[xo, xo+n)} into {@code w[0, n)}: the importance when given,
     * else all ones, so the quantizer minimises the (importance-weighted) squared error of the
     * weights, which is what a matrix product's output error is proportional to. (Leaning toward
     * large weights, as q4nl does with {@code sqrt(σ² + x²)}, measured no better in llama.cpp's KL:
     * docs/benchmarks/gguf-quality.md.)
     */
    static void errorWeights(float[] x, int xo, int n, float[] imp, int io, float[] w) {
        for (int j = 0; j < n; j++) w[j] = imp == null ? 1f : imp[io + j];
    }

    /**
     * The weighted-least-squares scale of a symmetric block, not yet rounded: candidates map the
     * largest-magnitude value m to {@code lowest·f} or {@code highest·f} for every f of
     * {@link #SYMMETRIC_FACTORS}, each refitted; the best is refined. 0 for an all-zero block.
     */
    static float symmetric(float[] x, int xo, int n, float[] w, int wo, Grid g) {
        float amax = 0, m = 0;
        for (int j = 0; j < n; j++) {
            float v = x[xo + j];
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                m = v;
            }
        }
        if (amax == 0) return 0;
        double bestScore = -1;
        float best = m / g.lowest();
        for (int side = 0; side < 2; side++) {
            float extreme = side == 0 ? g.lowest() : g.highest();
            for (float f : SYMMETRIC_FACTORS) {
                float d = m / (extreme * f);
                double[] fit = refit(x, xo, n, w, wo, g, d);
                if (fit[1] > 0 && fit[0] * fit[0] / fit[1] > bestScore) {
                    bestScore = fit[0] * fit[0] / fit[1];
                    best = (float) (fit[0] / fit[1]);
                }
            }
        }
        for (int step = 0; step < REFINE_STEPS; step++) {
            double[] fit = refit(x, xo, n, w, wo, g, best);
            if (!(fit[1] > 0) || fit[0] * fit[0] / fit[1] <= bestScore) break;
            bestScore = fit[0] * fit[0] / fit[1];
            best = (float) (fit[0] / fit[1]);
        }
        return best;
    }

    /** {Σ w·x·L, Σ w·L²} with L the nearest levels for scale d: the refitted scale is their ratio, its error Σwx² − (ΣwxL)²/ΣwL². */
    private static double[] refit(float[] x, int xo, int n, float[] w, int wo, Grid g, float d) {
        float inv = 1f / d;
        double sxl = 0, sll = 0;
        for (int j = 0; j < n; j++) {
            float l = g.level(g.nearest(x[xo + j] * inv));
            double wl = (double) w[wo + j] * l;
            sxl += wl * x[xo + j];
            sll += wl * l;
        }
        return new double[] {sxl, sll};
    }

    /**
     * Assigns each value the code of the nearest level for scale {@code d} (exactly as the decoder
     * scales: {@code d · level}) into {@code codes[co..]} and returns the weighted squared error.
     */
    static double assignSymmetric(float[] x, int xo, int n, float[] w, int wo, Grid g, float d, int[] codes, int co) {
        int zero = g.nearest(0f);
        float inv = d == 0 ? 0 : 1f / d;
        double err = 0;
        for (int j = 0; j < n; j++) {
            int c = d == 0 ? zero : g.nearest(x[xo + j] * inv);
            float e = x[xo + j] - d * g.level(c);
            codes[co + j] = c;
            err += (double) w[wo + j] * e * e;
        }
        return err;
    }

    /**
     * The stored (f16) scale nearest in weighted error to the search's {@code d}: the two f16
     * values around d are tried, codes re-assigned for each. Returns the f16 bits; the codes of
     * the winner are in {@code codes[co..]}.
     */
    static short roundedSymmetric(float[] x, int xo, int n, float[] w, int wo, Grid g, float d, int[] codes, int co, int[] scratch) {
        short a = f16Finite(d);
        short b = neighbourF16(a, d);
        double ea = assignSymmetric(x, xo, n, w, wo, g, Float.float16ToFloat(a), codes, co);
        if (b == a) return a;
        double eb = assignSymmetric(x, xo, n, w, wo, g, Float.float16ToFloat(b), scratch, 0);
        if (eb < ea) {
            System.arraycopy(scratch, 0, codes, co, n);
            return b;
        }
        return a;
    }

    /** f16 bits of v, rounded to nearest; beyond f16's range, the largest finite value of v's sign. */
    static short f16Finite(float v) {
        short h = Float.floatToFloat16(v);
        if (Float.isInfinite(Float.float16ToFloat(h))) h = Float.floatToFloat16(Math.copySign(65504f, v));
        return h;
    }

    /** The f16 on the other side of v from {@code h} (h = v's rounding), or h if v is exactly representable or no finite neighbour exists. */
    static short neighbourF16(short h, float v) {
        float hv = Float.float16ToFloat(h);
        if (hv == v) return h;
        // f16 bit patterns of one sign are ordered like their magnitudes
        boolean up = Math.abs(v) > Math.abs(hv);
        int mag = (h & 0x7fff) + (up ? 1 : -1);
        if (mag < 0 || mag >= 0x7c00) return h;
        return (short) ((h & 0x8000) | mag);
    }

    /**
     * Weighted-least-squares affine fit {@code x̂ = d·q + b}, q ∈ [0, nmax], of a block: candidate
     * ranges clip {@link #AFFINE_CLIPS} of the block's range at either end, each is refitted
     * jointly in (d, b); the best is refined. With {@code offsetNonPositive} (K-quants store
     * {@code b = −dmin·m} with m ≥ 0) b is kept ≤ 0. Writes {d, b} into {@code out}. A constant
     * block gets d = 0.
     */
    static void affine(float[] x, int xo, int n, float[] w, int wo, int nmax, boolean offsetNonPositive, float[] out) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            lo = Math.min(lo, x[xo + j]);
            hi = Math.max(hi, x[xo + j]);
        }
        if (offsetNonPositive) lo = Math.min(lo, 0f);
        if (!(hi > lo)) {
            out[0] = 0;
            out[1] = offsetNonPositive ? Math.min(0f, lo) : lo;
            return;
        }
        float range = hi - lo;
        double bestErr = Double.POSITIVE_INFINITY;
        float bd = range / nmax, bb = lo;
        float[] fit = new float[2];
        for (float clipLo : AFFINE_CLIPS) {
            for (float clipHi : AFFINE_CLIPS) {
                float a = lo + clipLo * range, z = hi - clipHi * range;
                if (offsetNonPositive && a > 0) continue;
                double e = refitAffine(x, xo, n, w, wo, nmax, offsetNonPositive, (z - a) / nmax, a, fit);
                if (e < bestErr) {
                    bestErr = e;
                    bd = fit[0];
                    bb = fit[1];
                }
            }
        }
        for (int step = 0; step < REFINE_STEPS && bd > 0; step++) {
            double e = refitAffine(x, xo, n, w, wo, nmax, offsetNonPositive, bd, bb, fit);
            if (!(e < bestErr)) break;
            bestErr = e;
            bd = fit[0];
            bb = fit[1];
        }
        out[0] = bd;
        out[1] = bb;
    }

    /** Nearest codes for (d, b), then the joint weighted LS (d, b) for those codes into fit; returns that fit's error. */
    private static double refitAffine(float[] x, int xo, int n, float[] w, int wo, int nmax, boolean offsetNonPositive, float d, float b, float[] fit) {
        float inv = 1f / d;
        double s = 0, sq = 0, sqq = 0, sx = 0, sxq = 0, sxx = 0;
        for (int j = 0; j < n; j++) {
            float v = x[xo + j];
            float q = Math.min(nmax, Math.max(0, (float) Math.rint((v - b) * inv)));
            double wj = w[wo + j];
            s += wj;
            sq += wj * q;
            sqq += wj * q * q;
            sx += wj * v;
            sxq += wj * v * q;
            sxx += wj * v * v;
        }
        double det = s * sqq - sq * sq;
        double nd, nb;
        if (det > 0) {
            nd = (s * sxq - sq * sx) / det;
            nb = (sqq * sx - sq * sxq) / det;
        } else {
            nd = d;
            nb = s > 0 ? (sx - d * sq) / s : b;
        }
        if (offsetNonPositive && nb > 0) {
            nb = 0;
            nd = sqq > 0 ? sxq / sqq : d;
        }
        if (!(nd > 0)) { // degenerate: keep the candidate
            nd = d;
            nb = b;
        }
        fit[0] = (float) nd;
        fit[1] = (float) nb;
        // error of (nd, nb) for these codes
        return sxx - 2 * nd * sxq - 2 * nb * sx + nd * nd * sqq + 2 * nd * nb * sq + nb * nb * s;
    }

    /**
     * Nearest codes for the decoder's {@code x̂ = d·q + b} (computed as the decoder computes it,
     * passed in as {@code d} and {@code b}), into {@code codes[co..]}; returns the weighted error.
     * (K-quant decoders compute {@code d·q − m}; with {@code b = −m} that is the same float.)
     */
    static double assignAffine(float[] x, int xo, int n, float[] w, int wo, int nmax, float d, float b, int[] codes, int co) {
        float inv = d == 0 ? 0 : 1f / d;
        double err = 0;
        for (int j = 0; j < n; j++) {
            float v = x[xo + j];
            int q = d == 0 ? 0 : (int) Math.min(nmax, Math.max(0, (float) Math.rint((v - b) * inv)));
            float e = v - (d * q + b);
            codes[co + j] = q;
            err += (double) w[wo + j] * e * e;
        }
        return err;
    }
}
