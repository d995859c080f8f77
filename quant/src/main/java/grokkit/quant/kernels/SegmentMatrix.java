package grokkit.quant.kernels;

import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * What every kernel shares: the two byte regions, argument checks, scale decoding, and the
 * tiled matrix-matrix product (prefill) built on each encoding's {@link #dequantizeRange}.
 *
 * <p>Subclasses implement the matrix-vector product (decode) as a fused, encoding-specific
 * loop over the mapped bytes, because that path is memory-bound and must not materialise
 * floats anywhere.
 */
abstract class SegmentMatrix implements WeightMatrix {
    /**
     * Float lanes per vector: always 8 (256 bits), whatever the hardware. The lanes are the
     * logical partial sums of the fixed accumulation order (docs/KERNELS.md, "Fixed order"), so
     * the same bits come out of AVX2 and AVX-512 machines, of the interpreter and of C2. (With
     * {@code -XX:MaxVectorSize=16} the species is not intrinsified and runs slowly, with the
     * same bits.)
     */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final int L = F.length();
    /**
     * Whether the CPU has 32 vector registers (AVX-512; C2 also uses them for 256-bit vectors):
     * then prefill multiplies 4 tokens × 4 rows at a time (16 accumulators), else 2 × 4 (AVX2's
     * 16 registers). The order per output is the same either way.
     */
    static final boolean WIDE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    /** One byte per float lane: a load of L int8 weights widens to exactly one float vector. */
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    /** One short per float lane, for bf16 weights. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    /** Int lanes of the float shape, for bf16 → float bit manipulation. */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /** Features per prefill tile: 4 rows × 1024 floats = 16 KB of weights stay in L1. */
    static final int MATMUL_CHUNK = 1024;
    /**
     * Floats of lane state (two 8-lane vectors per token and output) a prefill call keeps for a
     * block of output rows: 512 KB, about one L2.
     */
    static final int STATE_FLOATS = 1 << 17;

    final EncodingSpec spec;
    final MemorySegment weights;
    final MemorySegment scales;
    final int in;
    final int out;

    SegmentMatrix(EncodingSpec spec, MemorySegment weights, MemorySegment scales, int in, int out) {
        this.spec = spec;
        this.weights = weights;
        this.scales = scales;
        this.in = in;
        this.out = out;
    }

    @Override public final int inDim() { return in; }
    @Override public final int outDim() { return out; }
    @Override public final String encoding() { return spec.name(); }
    @Override public final long byteSize() { return spec.weightBytes(in, out) + spec.scaleBytes(in, out); }

    @Override
    public String toString() {
        return spec.name() + (spec.groupSize() > 0 ? "(G=" + spec.groupSize() + "," + spec.scaleType() + ")" : "")
                + "[in=" + in + ", out=" + out + "]";
    }

    // ---- The fixed accumulation order (docs/KERNELS.md, "Fixed order") ----------------------
    //
    // Every kernel computes output o as: a sequence of *features* f in [0, vectorFeatures())
    // (an encoding-defined arrangement of weight × input pairs, in the order its decode loop
    // visits them), taken L at a time: lane l of partial sum s gets fma(w'[f], x'[f], s) for
    // f ≡ l mod L in increasing f. Scaled encodings split the features into groups of
    // featureGroup(); at each group's end the lanes fold into a second lane vector
    // a = fma(s, scale, a) and s restarts at +0. Then tree(a) (or tree(s) unscaled), and
    // finish() adds the encoding's scalar part (tails, offsets) in a fixed scalar order.
    // Decode (matvec), prefill (matmul) and FixedOrder.reference all follow it exactly.

    /** Features per row summed in lanes: a multiple of L (0: everything is in {@link #finish}). */
    abstract int vectorFeatures();

    /** Features per scale group (a multiple of L dividing {@link #vectorFeatures}), or 0 for unscaled weights. */
    abstract int featureGroup();

    /** Whether feature f's input is x[f] itself (else {@link #inputFeatures} arranges them). */
    boolean featuresAreInputs() { return true; }

    /** x' for features [f0, f1) into dst[off ..). Only called when {@link #featuresAreInputs} is false. */
    void inputFeatures(float[] x, int f0, int f1, float[] dst, int off) {
        throw new UnsupportedOperationException();
    }

    /** Unscaled weights w' of row o for features [f0, f1) (f0, f1 multiples of L) into dst[off ..). */
    abstract void featureWeights(int o, int f0, int f1, float[] dst, int off);

    /**
     * Features per prefill chunk: the power of two at or below TILE_WORK / tokens, between
     * {@link #MATMUL_CHUNK} and MAX_CHUNK: a tile's fixed costs (lane state in and out, scales, the call) weigh more with
     * few tokens (an expert's share of a prompt). One core, int8-rowblock, T = 16 (KernelHotBench
     * 2048 8192 / 8192 2048): 56 → 65 and 64 → 70 GFLOP/s; T = 32: 64 → 78; T ≥ 64 unchanged
     * (chunk 1024). The tile then no longer fits L1 (up to 4 × 8192 floats): it did not matter.
     */
    static final int MAX_CHUNK = 8192;
    static final int FOLD_IN_REGISTERS = 4;
    static final int TILE_WORK = 65536;

    /** A thread's prefill scratch (tile, scales, lane state), reused across calls: the state alone is up to 512 KB. */
    private static final class Scratch {
        private float[] tile = new float[0], scales = new float[0], state = new float[0];

        float[] tile(int n) { return tile.length >= n ? tile : (tile = new float[n]); }
        float[] scales(int n) { return scales.length >= n ? scales : (scales = new float[n]); }
        float[] state(int n) { return state.length >= n ? state : (state = new float[n]); }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Prefill touches the weights of the tile {@code PREFETCH} ahead (one byte per cache line)
     * before computing the current one, so their cache misses overlap its FMAs: one core, int8,
     * T = 16 on a 16 MB matrix, 0–5% (more with weights in DRAM, as an expert's are).
     */
    static final int PREFETCH = 1;
    /** Sink for the touched bytes, so the JIT keeps the reads. */
    static int touch;

    /** Reads one byte per cache line of row o's weights for features [f0, f1), so they are on their way to the cache before {@link #featureWeights} needs them. */
    int touchWeights(int o, int f0, int f1) { return 0; }

    /** Scales of row o for feature groups [g0, g1) into dst[off ..). */
    void groupScales(int o, int g0, int g1, float[] dst, int off) {}

    /** Per-input precomputation {@link #finish} needs (e.g. group sums of x), or null. Once per token and call. */
    float[] prepare(float[] x) { return null; }

    /** Output o from the lanes' tree sum: adds the encoding's scalar part in its fixed order. */
    abstract float finish(int o, float lanes, float[] x, float[] prepared);

    /** The fixed lane tree: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). */
    static float tree(float[] a, int off) {
        return ((a[off] + a[off + 4]) + (a[off + 2] + a[off + 6])) + ((a[off + 1] + a[off + 5]) + (a[off + 3] + a[off + 7]));
    }

    /**
     * {@link #tree(float[], int)} of a vector's lanes: the two 128-bit halves added lane-wise,
     * then four lanes read with {@code lane(i)}. Small on purpose: a kernel that keeps eight rows
     * in flight reduces eight of them, and eight-lane extractions each (or stores to an array)
     * pushed its method past C2's inlining node budget (~2× slower decode).
     */
    static float tree(FloatVector v) {
        FloatVector h = ((FloatVector) v.reinterpretShape(H, 0)).add((FloatVector) v.reinterpretShape(H, 1));
        return (h.lane(0) + h.lane(2)) + (h.lane(1) + h.lane(3));
    }

    private static final VectorSpecies<Float> H = FloatVector.SPECIES_128;

    /** x' of one token over all features (x itself when features are inputs). */
    final float[] allInputFeatures(float[] x) {
        if (featuresAreInputs()) return x;
        float[] f = new float[vectorFeatures()];
        if (f.length > 0) inputFeatures(x, 0, f.length, f, 0);
        return f;
    }

    /**
     * Dequantized weights {@code W[k, o]} for {@code k} in {@code [k0, k1)} into
     * {@code dst[off .. off + k1 - k0)}. {@code k0} is a multiple of {@link #chunkAlignment()}
     * and {@code k1} is too, or equals {@code in}. (Not used by the products: they follow the
     * feature order above. Kept for column reads and tests.)
     */
    abstract void dequantizeRange(int o, int k0, int k1, float[] dst, int off);

    /** Input ranges handed to {@link #dequantizeRange} start at multiples of this. */
    int chunkAlignment() { return 1; }

    final void checkMatvec(float[] x, float[] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        if (x.length < in) throw new IllegalArgumentException("x has " + x.length + " elements, need in=" + in + " for " + this);
        if (y.length < to) throw new IllegalArgumentException("y has " + y.length + " elements, need at least " + to + " for " + this);
    }

    /** Decodes a 16-bit scale: bf16 is the upper half of a float32, f16 is IEEE half precision. */
    static float decodeScale(short bits, boolean bf16) {
        return bf16 ? Float.intBitsToFloat(bits << 16) : Float.float16ToFloat(bits);
    }

    /**
     * Decodes {@code count} consecutive 16-bit scales starting at scale index {@code first} into
     * {@code dst[0 .. count)}. Kernels decode a row block's scales up front so their hot loops
     * read a float array instead of going through segment accessors: that keeps the loops small
     * enough for C2 to inline every Vector API call (past its node budget it stops inlining, and
     * a non-inlined vector op boxes).
     */
    final void decodeScales(long first, int count, float[] dst, boolean bf16) {
        decodeScales(first, count, dst, 0, bf16);
    }

    final void decodeScales(long first, int count, float[] dst, int off, boolean bf16) {
        short[] bits = new short[count]; // one bulk copy: a segment read per scale costs several times more
        MemorySegment.copy(scales, LE_SHORT, 2 * first, bits, 0, count);
        for (int i = 0; i < count; i++) dst[off + i] = decodeScale(bits[i], bf16);
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * Prefill: {@code y[t][o] = Σ_k x[t][k]·W[k,o]}, each output summed in exactly the order of
     * the matrix-vector kernel (the fixed order above), so a token's outputs do not depend on
     * the other tokens of the call. Output rows go in blocks whose lane state (s and a per token
     * and row) fits {@link #STATE_FLOATS}; within a block, per chunk of features (longer for
     * fewer tokens, see {@link #TILE_WORK}), each 4-row tile of unscaled weights is decoded once
     * into a scratch and multiplied with the tokens four at a time on AVX-512 ({@link #tile4x4};
     * {@link #tile2x4a} for groups of ≤ 4 vectors) or two at a time on AVX2 ({@link #tile2x4}),
     * an odd token by {@link #tile1x4}, folding group scales at group ends. The lanes carry
     * across chunks; the tree sum and {@link #finish} come at the block's end.
     */
    @Override
    public void matmul(float[][] x, float[][] y, int from, int to) {
        matmul(x, prepareInputs(x), y, from, to);
    }

    /** Per token: x' in feature order and the encoding's {@link #prepare} (null when unused). */
    private record Inputs(SegmentMatrix owner, float[][] features, float[][] prepared) implements PreparedInputs {}

    @Override
    public PreparedInputs prepareInputs(float[][] x) {
        int tokens = x.length;
        if (tokens < 2) return PreparedInputs.NONE;
        for (float[] row : x) if (row.length < in) throw new IllegalArgumentException("x has " + row.length + " elements, need in=" + in + " for " + this);
        float[][] prepared = new float[tokens][], xf = new float[tokens][];
        for (int t = 0; t < tokens; t++) {
            prepared[t] = prepare(x[t]);
            xf[t] = allInputFeatures(x[t]);
        }
        return new Inputs(this, xf, prepared);
    }

    @Override
    public void matmul(float[][] x, PreparedInputs inputs, float[][] y, int from, int to) {
        Objects.checkFromToIndex(from, to, out);
        int tokens = x.length;
        if (y.length < tokens) throw new IllegalArgumentException("y has " + y.length + " rows, x has " + tokens);
        if (tokens == 0 || from == to) return;
        if (tokens == 1) {
            matvec(x[0], y[0], from, to);
            return;
        }
        if (!(inputs instanceof Inputs p) || p.owner != this || p.features.length != tokens)
            throw new IllegalArgumentException("inputs were not prepared by this matrix for these " + tokens + " tokens: " + this);
        for (int t = 0; t < tokens; t++) checkMatvec(x[t], y[t], from, to);
        float[][] prepared = p.prepared, xf = p.features;
        int nf = vectorFeatures();
        if (nf == 0) {
            for (int t = 0; t < tokens; t++) for (int o = from; o < to; o++) y[t][o] = finish(o, 0f, x[t], prepared[t]);
            return;
        }
        int gf = featureGroup();
        // A power of two, as MATMUL_CHUNK: chunks start on vector and group boundaries (and on
        // multiples of 1024 when a group spans chunks) whatever the token count.
        int chunk = Math.max(MATMUL_CHUNK, Math.min(MAX_CHUNK, Integer.highestOneBit(TILE_WORK / tokens)));
        int kc = Math.min(nf, gf == 0 || gf >= chunk ? chunk : chunk / gf * gf);
        int perGroup = gf / L;
        int blockRows = Math.min(to - from, Math.max(4, STATE_FLOATS / (16 * tokens) / 4 * 4));
        Scratch scratch = SCRATCH.get();
        int touched = 0;
        float[] tile = scratch.tile(4 * kc);
        float[] sc = scratch.scales(4 * (gf == 0 ? 1 : kc / gf + 2));
        float[] st = scratch.state(16 * tokens * blockRows);
        int lanes = gf == 0 ? 0 : 8;
        for (int b0 = from; b0 < to; b0 += blockRows) {
            int b1 = Math.min(to, b0 + blockRows);
            Arrays.fill(st, 0, 16 * tokens * blockRows, 0f);
            for (int f0 = 0; f0 < nf; f0 += kc) {
                int f1 = Math.min(nf, f0 + kc), steps = (f1 - f0) / L;
                int g0 = gf == 0 ? 0 : f0 / gf, gc = gf == 0 ? 0 : (f1 + gf - 1) / gf - g0;
                int left = gf == 0 ? Integer.MAX_VALUE : (gf - f0 % gf) / L;
                for (int o = b0; o < b1; o += 4) {
                    int rows = Math.min(4, b1 - o), r0 = o - b0;
                    for (int r = 0; r < rows; r++) {
                        featureWeights(o + r, f0, f1, tile, r * kc);
                        if (gf > 0) groupScales(o + r, g0, g0 + gc, sc, r * gc);
                    }
                    if (PREFETCH > 0) for (int r = 0; r < 4 && o + PREFETCH * 4 + r < b1; r++) touched += touchWeights(o + PREFETCH * 4 + r, f0, f1);
                    int t = 0;
                    if (rows == 4) {
                        if (WIDE && perGroup <= FOLD_IN_REGISTERS) {
                            for (; t + 3 <= tokens; t += 3) {
                                tile3x4a(xf[t], xf[t + 1], xf[t + 2], f0, tile, kc, steps, st, 16 * (t * blockRows + r0),
                                        16 * ((t + 1) * blockRows + r0), 16 * ((t + 2) * blockRows + r0), sc, gc, left, perGroup);
                            }
                        }
                        if (WIDE && perGroup <= FOLD_IN_REGISTERS) {
                            for (; t + 2 <= tokens; t += 2) {
                                tile2x4a(xf[t], xf[t + 1], f0, tile, kc, steps, st, 16 * (t * blockRows + r0),
                                        16 * ((t + 1) * blockRows + r0), sc, gc, left, perGroup);
                            }
                        }
                        if (WIDE) {
                            for (; t + 4 <= tokens; t += 4) {
                                tile4x4(xf[t], xf[t + 1], xf[t + 2], xf[t + 3], f0, tile, kc, steps, st,
                                        16 * (t * blockRows + r0), 16 * blockRows, sc, gc, left, perGroup);
                            }
                        }
                        for (; t + 2 <= tokens; t += 2) {
                            tile2x4(xf[t], xf[t + 1], f0, tile, kc, steps, st, 16 * (t * blockRows + r0),
                                    16 * ((t + 1) * blockRows + r0), sc, gc, left, perGroup);
                        }
                        if (t < tokens) {
                            tile1x4(xf[t], f0, tile, kc, steps, st, 16 * (t * blockRows + r0), sc, gc, left, perGroup);
                            t++;
                        }
                    }
                    for (; t < tokens; t++) {
                        for (int r = 0; r < rows; r++) {
                            row1(xf[t], f0, tile, r * kc, steps, st, 16 * (t * blockRows + r0 + r), sc, r * gc, left, perGroup);
                        }
                    }
                }
            }
            finishBlock(x, prepared, st, blockRows, lanes, b0, b1, y);
        }
        if (touched == 1) touch = touched; // rarely written: keeps the reads without a shared store per tile
    }

    /**
     * Outputs [b0, b1) of every token at a prefill block's end: the tree sum of each lane state
     * ({@code st[16·(t·blockRows + o − b0) + lanes]}), then {@link #finish}. Encodings whose
     * finish is a long scalar chain override this to run several tokens' chains side by side,
     * with the same operations per output.
     */
    void finishBlock(float[][] x, float[][] prepared, float[] st, int blockRows, int lanes, int b0, int b1, float[][] y) {
        for (int t = 0; t < x.length; t++) {
            for (int o = b0; o < b1; o++) y[t][o] = finish(o, tree(st, 16 * (t * blockRows + o - b0) + lanes), x[t], prepared[t]);
        }
    }

    /**
     * Two tokens × four rows over {@code steps} vectors of one chunk: lane sums s (state
     * {@code st[p + 16r]}) and, at group ends ({@code left} counts down the vectors to the next
     * one), the fold into a ({@code st[p + 16r + 8]}) with row r's scale {@code sc[r·gc + g]}.
     */
    private static void tile2x4(float[] x0, float[] x1, int xo, float[] w, int kc, int steps, float[] st, int p0, int p1,
                                float[] sc, int gc, int left, int perGroup) {
        FloatVector s00 = FloatVector.fromArray(F, st, p0), s01 = FloatVector.fromArray(F, st, p0 + 16);
        FloatVector s02 = FloatVector.fromArray(F, st, p0 + 32), s03 = FloatVector.fromArray(F, st, p0 + 48);
        FloatVector s10 = FloatVector.fromArray(F, st, p1), s11 = FloatVector.fromArray(F, st, p1 + 16);
        FloatVector s12 = FloatVector.fromArray(F, st, p1 + 32), s13 = FloatVector.fromArray(F, st, p1 + 48);
        FloatVector zero = FloatVector.zero(F);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc, g = 0;
        for (int v = 0; v < steps; v++) {
            int i = v * L;
            FloatVector r0 = FloatVector.fromArray(F, w, i);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + i);
            FloatVector r2 = FloatVector.fromArray(F, w, w2 + i);
            FloatVector r3 = FloatVector.fromArray(F, w, w3 + i);
            FloatVector a = FloatVector.fromArray(F, x0, xo + i);
            s00 = r0.fma(a, s00); s01 = r1.fma(a, s01); s02 = r2.fma(a, s02); s03 = r3.fma(a, s03);
            FloatVector b = FloatVector.fromArray(F, x1, xo + i);
            s10 = r0.fma(b, s10); s11 = r1.fma(b, s11); s12 = r2.fma(b, s12); s13 = r3.fma(b, s13);
            if (--left == 0) {
                FloatVector k0 = FloatVector.broadcast(F, sc[g]), k1 = FloatVector.broadcast(F, sc[gc + g]);
                FloatVector k2 = FloatVector.broadcast(F, sc[2 * gc + g]), k3 = FloatVector.broadcast(F, sc[3 * gc + g]);
                s00.fma(k0, FloatVector.fromArray(F, st, p0 + 8)).intoArray(st, p0 + 8);
                s01.fma(k1, FloatVector.fromArray(F, st, p0 + 24)).intoArray(st, p0 + 24);
                s02.fma(k2, FloatVector.fromArray(F, st, p0 + 40)).intoArray(st, p0 + 40);
                s03.fma(k3, FloatVector.fromArray(F, st, p0 + 56)).intoArray(st, p0 + 56);
                s10.fma(k0, FloatVector.fromArray(F, st, p1 + 8)).intoArray(st, p1 + 8);
                s11.fma(k1, FloatVector.fromArray(F, st, p1 + 24)).intoArray(st, p1 + 24);
                s12.fma(k2, FloatVector.fromArray(F, st, p1 + 40)).intoArray(st, p1 + 40);
                s13.fma(k3, FloatVector.fromArray(F, st, p1 + 56)).intoArray(st, p1 + 56);
                s00 = zero; s01 = zero; s02 = zero; s03 = zero;
                s10 = zero; s11 = zero; s12 = zero; s13 = zero;
                g++;
                left = perGroup;
            }
        }
        s00.intoArray(st, p0); s01.intoArray(st, p0 + 16); s02.intoArray(st, p0 + 32); s03.intoArray(st, p0 + 48);
        s10.intoArray(st, p1); s11.intoArray(st, p1 + 16); s12.intoArray(st, p1 + 32); s13.intoArray(st, p1 + 48);
    }

    /**
     * Two tokens × four rows over {@code steps} vectors of one chunk: lane sums s (state
     * {@code st[p + 16r]}) and, at group ends ({@code left} counts down the vectors to the next
     * one), the fold into a ({@code st[p + 16r + 8]}) with row r's scale {@code sc[r·gc + g]}.
     */
    private static void tile2x4a(float[] x0, float[] x1, int xo, float[] w, int kc, int steps, float[] st, int p0, int p1,
                                float[] sc, int gc, int left, int perGroup) {
        FloatVector s00 = FloatVector.fromArray(F, st, p0), s01 = FloatVector.fromArray(F, st, p0 + 16);
        FloatVector s02 = FloatVector.fromArray(F, st, p0 + 32), s03 = FloatVector.fromArray(F, st, p0 + 48);
        FloatVector s10 = FloatVector.fromArray(F, st, p1), s11 = FloatVector.fromArray(F, st, p1 + 16);
        FloatVector s12 = FloatVector.fromArray(F, st, p1 + 32), s13 = FloatVector.fromArray(F, st, p1 + 48);
        FloatVector a00 = FloatVector.fromArray(F, st, p0 + 8), a01 = FloatVector.fromArray(F, st, p0 + 24);
        FloatVector a02 = FloatVector.fromArray(F, st, p0 + 40), a03 = FloatVector.fromArray(F, st, p0 + 56);
        FloatVector a10 = FloatVector.fromArray(F, st, p1 + 8), a11 = FloatVector.fromArray(F, st, p1 + 24);
        FloatVector a12 = FloatVector.fromArray(F, st, p1 + 40), a13 = FloatVector.fromArray(F, st, p1 + 56);
        FloatVector zero = FloatVector.zero(F);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc, g = 0;
        for (int v = 0; v < steps; v++) {
            int i = v * L;
            FloatVector r0 = FloatVector.fromArray(F, w, i);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + i);
            FloatVector r2 = FloatVector.fromArray(F, w, w2 + i);
            FloatVector r3 = FloatVector.fromArray(F, w, w3 + i);
            FloatVector a = FloatVector.fromArray(F, x0, xo + i);
            s00 = r0.fma(a, s00); s01 = r1.fma(a, s01); s02 = r2.fma(a, s02); s03 = r3.fma(a, s03);
            FloatVector b = FloatVector.fromArray(F, x1, xo + i);
            s10 = r0.fma(b, s10); s11 = r1.fma(b, s11); s12 = r2.fma(b, s12); s13 = r3.fma(b, s13);
            if (--left == 0) {
                FloatVector k0 = FloatVector.broadcast(F, sc[g]), k1 = FloatVector.broadcast(F, sc[gc + g]);
                FloatVector k2 = FloatVector.broadcast(F, sc[2 * gc + g]), k3 = FloatVector.broadcast(F, sc[3 * gc + g]);
                a00 = s00.fma(k0, a00);
                a01 = s01.fma(k1, a01);
                a02 = s02.fma(k2, a02);
                a03 = s03.fma(k3, a03);
                a10 = s10.fma(k0, a10);
                a11 = s11.fma(k1, a11);
                a12 = s12.fma(k2, a12);
                a13 = s13.fma(k3, a13);
                s00 = zero; s01 = zero; s02 = zero; s03 = zero;
                s10 = zero; s11 = zero; s12 = zero; s13 = zero;
                g++;
                left = perGroup;
            }
        }
        a00.intoArray(st, p0 + 8); a01.intoArray(st, p0 + 24); a02.intoArray(st, p0 + 40); a03.intoArray(st, p0 + 56);
        a10.intoArray(st, p1 + 8); a11.intoArray(st, p1 + 24); a12.intoArray(st, p1 + 40); a13.intoArray(st, p1 + 56);
        s00.intoArray(st, p0); s01.intoArray(st, p0 + 16); s02.intoArray(st, p0 + 32); s03.intoArray(st, p0 + 48);
        s10.intoArray(st, p1); s11.intoArray(st, p1 + 16); s12.intoArray(st, p1 + 32); s13.intoArray(st, p1 + 48);
    }

    /**
     * {@link #tile2x4a} for three tokens: 12 s + 12 a + 4 w + x in registers (the scales take
     * the dead w registers at the fold), 7 loads per 12 FMAs.
     */
    private static void tile3x4a(float[] x0, float[] x1, float[] x2, int xo, float[] w, int kc, int steps, float[] st, int p0, int p1, int p2,
                                float[] sc, int gc, int left, int perGroup) {
        FloatVector s00 = FloatVector.fromArray(F, st, p0), s01 = FloatVector.fromArray(F, st, p0 + 16);
        FloatVector s02 = FloatVector.fromArray(F, st, p0 + 32), s03 = FloatVector.fromArray(F, st, p0 + 48);
        FloatVector s10 = FloatVector.fromArray(F, st, p1), s11 = FloatVector.fromArray(F, st, p1 + 16);
        FloatVector s12 = FloatVector.fromArray(F, st, p1 + 32), s13 = FloatVector.fromArray(F, st, p1 + 48);
        FloatVector s20 = FloatVector.fromArray(F, st, p2), s21 = FloatVector.fromArray(F, st, p2 + 16);
        FloatVector s22 = FloatVector.fromArray(F, st, p2 + 32), s23 = FloatVector.fromArray(F, st, p2 + 48);
        FloatVector a20 = FloatVector.fromArray(F, st, p2 + 8), a21 = FloatVector.fromArray(F, st, p2 + 24);
        FloatVector a22 = FloatVector.fromArray(F, st, p2 + 40), a23 = FloatVector.fromArray(F, st, p2 + 56);
        FloatVector a00 = FloatVector.fromArray(F, st, p0 + 8), a01 = FloatVector.fromArray(F, st, p0 + 24);
        FloatVector a02 = FloatVector.fromArray(F, st, p0 + 40), a03 = FloatVector.fromArray(F, st, p0 + 56);
        FloatVector a10 = FloatVector.fromArray(F, st, p1 + 8), a11 = FloatVector.fromArray(F, st, p1 + 24);
        FloatVector a12 = FloatVector.fromArray(F, st, p1 + 40), a13 = FloatVector.fromArray(F, st, p1 + 56);
        FloatVector zero = FloatVector.zero(F);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc, g = 0;
        for (int v = 0; v < steps; v++) {
            int i = v * L;
            FloatVector r0 = FloatVector.fromArray(F, w, i);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + i);
            FloatVector r2 = FloatVector.fromArray(F, w, w2 + i);
            FloatVector r3 = FloatVector.fromArray(F, w, w3 + i);
            FloatVector a = FloatVector.fromArray(F, x0, xo + i);
            s00 = r0.fma(a, s00); s01 = r1.fma(a, s01); s02 = r2.fma(a, s02); s03 = r3.fma(a, s03);
            FloatVector b = FloatVector.fromArray(F, x1, xo + i);
            s10 = r0.fma(b, s10); s11 = r1.fma(b, s11); s12 = r2.fma(b, s12); s13 = r3.fma(b, s13);
            FloatVector c = FloatVector.fromArray(F, x2, xo + i);
            s20 = r0.fma(c, s20); s21 = r1.fma(c, s21); s22 = r2.fma(c, s22); s23 = r3.fma(c, s23);
            if (--left == 0) {
                FloatVector k0 = FloatVector.broadcast(F, sc[g]), k1 = FloatVector.broadcast(F, sc[gc + g]);
                FloatVector k2 = FloatVector.broadcast(F, sc[2 * gc + g]), k3 = FloatVector.broadcast(F, sc[3 * gc + g]);
                a00 = s00.fma(k0, a00);
                a01 = s01.fma(k1, a01);
                a02 = s02.fma(k2, a02);
                a03 = s03.fma(k3, a03);
                a10 = s10.fma(k0, a10);
                a11 = s11.fma(k1, a11);
                a12 = s12.fma(k2, a12);
                a13 = s13.fma(k3, a13);
                a20 = s20.fma(k0, a20);
                a21 = s21.fma(k1, a21);
                a22 = s22.fma(k2, a22);
                a23 = s23.fma(k3, a23);
                s00 = zero; s01 = zero; s02 = zero; s03 = zero;
                s10 = zero; s11 = zero; s12 = zero; s13 = zero;
                s20 = zero; s21 = zero; s22 = zero; s23 = zero;
                g++;
                left = perGroup;
            }
        }
        a00.intoArray(st, p0 + 8); a01.intoArray(st, p0 + 24); a02.intoArray(st, p0 + 40); a03.intoArray(st, p0 + 56);
        a10.intoArray(st, p1 + 8); a11.intoArray(st, p1 + 24); a12.intoArray(st, p1 + 40); a13.intoArray(st, p1 + 56);
        s00.intoArray(st, p0); s01.intoArray(st, p0 + 16); s02.intoArray(st, p0 + 32); s03.intoArray(st, p0 + 48);
        s10.intoArray(st, p1); s11.intoArray(st, p1 + 16); s12.intoArray(st, p1 + 32); s13.intoArray(st, p1 + 48);
        a20.intoArray(st, p2 + 8); a21.intoArray(st, p2 + 24); a22.intoArray(st, p2 + 40); a23.intoArray(st, p2 + 56);
        s20.intoArray(st, p2); s21.intoArray(st, p2 + 16); s22.intoArray(st, p2 + 32); s23.intoArray(st, p2 + 48);
    }

    /**
     * 32 vector registers (AVX-512, also for 256-bit vectors): four tokens × four rows, 16 lane
     * accumulators, 8 loads per 16 FMAs. Token j's state is at {@code p + j·ts}. Same order per
     * output as {@link #tile2x4}.
     */
    private static void tile4x4(float[] x0, float[] x1, float[] x2, float[] x3, int xo, float[] w, int kc, int steps,
                                float[] st, int p, int ts, float[] sc, int gc, int left, int perGroup) {
        int p0 = p, p1 = p + ts, p2 = p + 2 * ts, p3 = p + 3 * ts;
        FloatVector s00 = FloatVector.fromArray(F, st, p0), s01 = FloatVector.fromArray(F, st, p0 + 16);
        FloatVector s02 = FloatVector.fromArray(F, st, p0 + 32), s03 = FloatVector.fromArray(F, st, p0 + 48);
        FloatVector s10 = FloatVector.fromArray(F, st, p1), s11 = FloatVector.fromArray(F, st, p1 + 16);
        FloatVector s12 = FloatVector.fromArray(F, st, p1 + 32), s13 = FloatVector.fromArray(F, st, p1 + 48);
        FloatVector s20 = FloatVector.fromArray(F, st, p2), s21 = FloatVector.fromArray(F, st, p2 + 16);
        FloatVector s22 = FloatVector.fromArray(F, st, p2 + 32), s23 = FloatVector.fromArray(F, st, p2 + 48);
        FloatVector s30 = FloatVector.fromArray(F, st, p3), s31 = FloatVector.fromArray(F, st, p3 + 16);
        FloatVector s32 = FloatVector.fromArray(F, st, p3 + 32), s33 = FloatVector.fromArray(F, st, p3 + 48);
        FloatVector zero = FloatVector.zero(F);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc, g = 0;
        for (int v = 0; v < steps; v++) {
            int i = v * L;
            FloatVector r0 = FloatVector.fromArray(F, w, i);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + i);
            FloatVector r2 = FloatVector.fromArray(F, w, w2 + i);
            FloatVector r3 = FloatVector.fromArray(F, w, w3 + i);
            FloatVector a = FloatVector.fromArray(F, x0, xo + i);
            s00 = r0.fma(a, s00); s01 = r1.fma(a, s01); s02 = r2.fma(a, s02); s03 = r3.fma(a, s03);
            FloatVector b = FloatVector.fromArray(F, x1, xo + i);
            s10 = r0.fma(b, s10); s11 = r1.fma(b, s11); s12 = r2.fma(b, s12); s13 = r3.fma(b, s13);
            FloatVector c = FloatVector.fromArray(F, x2, xo + i);
            s20 = r0.fma(c, s20); s21 = r1.fma(c, s21); s22 = r2.fma(c, s22); s23 = r3.fma(c, s23);
            FloatVector d = FloatVector.fromArray(F, x3, xo + i);
            s30 = r0.fma(d, s30); s31 = r1.fma(d, s31); s32 = r2.fma(d, s32); s33 = r3.fma(d, s33);
            if (--left == 0) {
                FloatVector k0 = FloatVector.broadcast(F, sc[g]), k1 = FloatVector.broadcast(F, sc[gc + g]);
                FloatVector k2 = FloatVector.broadcast(F, sc[2 * gc + g]), k3 = FloatVector.broadcast(F, sc[3 * gc + g]);
                s00.fma(k0, FloatVector.fromArray(F, st, p0 + 8)).intoArray(st, p0 + 8); s01.fma(k1, FloatVector.fromArray(F, st, p0 + 24)).intoArray(st, p0 + 24); s02.fma(k2, FloatVector.fromArray(F, st, p0 + 40)).intoArray(st, p0 + 40); s03.fma(k3, FloatVector.fromArray(F, st, p0 + 56)).intoArray(st, p0 + 56);
                s10.fma(k0, FloatVector.fromArray(F, st, p1 + 8)).intoArray(st, p1 + 8); s11.fma(k1, FloatVector.fromArray(F, st, p1 + 24)).intoArray(st, p1 + 24); s12.fma(k2, FloatVector.fromArray(F, st, p1 + 40)).intoArray(st, p1 + 40); s13.fma(k3, FloatVector.fromArray(F, st, p1 + 56)).intoArray(st, p1 + 56);
                s20.fma(k0, FloatVector.fromArray(F, st, p2 + 8)).intoArray(st, p2 + 8); s21.fma(k1, FloatVector.fromArray(F, st, p2 + 24)).intoArray(st, p2 + 24); s22.fma(k2, FloatVector.fromArray(F, st, p2 + 40)).intoArray(st, p2 + 40); s23.fma(k3, FloatVector.fromArray(F, st, p2 + 56)).intoArray(st, p2 + 56);
                s30.fma(k0, FloatVector.fromArray(F, st, p3 + 8)).intoArray(st, p3 + 8); s31.fma(k1, FloatVector.fromArray(F, st, p3 + 24)).intoArray(st, p3 + 24); s32.fma(k2, FloatVector.fromArray(F, st, p3 + 40)).intoArray(st, p3 + 40); s33.fma(k3, FloatVector.fromArray(F, st, p3 + 56)).intoArray(st, p3 + 56);
                s00 = zero; s01 = zero; s02 = zero; s03 = zero;
                s10 = zero; s11 = zero; s12 = zero; s13 = zero;
                s20 = zero; s21 = zero; s22 = zero; s23 = zero;
                s30 = zero; s31 = zero; s32 = zero; s33 = zero;
                g++;
                left = perGroup;
            }
        }
        s00.intoArray(st, p0); s01.intoArray(st, p0 + 16); s02.intoArray(st, p0 + 32); s03.intoArray(st, p0 + 48);
        s10.intoArray(st, p1); s11.intoArray(st, p1 + 16); s12.intoArray(st, p1 + 32); s13.intoArray(st, p1 + 48);
        s20.intoArray(st, p2); s21.intoArray(st, p2 + 16); s22.intoArray(st, p2 + 32); s23.intoArray(st, p2 + 48);
        s30.intoArray(st, p3); s31.intoArray(st, p3 + 16); s32.intoArray(st, p3 + 32); s33.intoArray(st, p3 + 48);
    }

    /** One token × four rows (a token count's odd remainder): {@link #tile2x4}'s order per output. */
    private static void tile1x4(float[] x0, int xo, float[] w, int kc, int steps, float[] st, int p0,
                                float[] sc, int gc, int left, int perGroup) {
        FloatVector s00 = FloatVector.fromArray(F, st, p0), s01 = FloatVector.fromArray(F, st, p0 + 16);
        FloatVector s02 = FloatVector.fromArray(F, st, p0 + 32), s03 = FloatVector.fromArray(F, st, p0 + 48);
        FloatVector a00 = FloatVector.fromArray(F, st, p0 + 8), a01 = FloatVector.fromArray(F, st, p0 + 24);
        FloatVector a02 = FloatVector.fromArray(F, st, p0 + 40), a03 = FloatVector.fromArray(F, st, p0 + 56);
        FloatVector zero = FloatVector.zero(F);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc, g = 0;
        for (int v = 0; v < steps; v++) {
            int i = v * L;
            FloatVector a = FloatVector.fromArray(F, x0, xo + i);
            s00 = FloatVector.fromArray(F, w, i).fma(a, s00);
            s01 = FloatVector.fromArray(F, w, w1 + i).fma(a, s01);
            s02 = FloatVector.fromArray(F, w, w2 + i).fma(a, s02);
            s03 = FloatVector.fromArray(F, w, w3 + i).fma(a, s03);
            if (--left == 0) {
                a00 = s00.fma(FloatVector.broadcast(F, sc[g]), a00);
                a01 = s01.fma(FloatVector.broadcast(F, sc[gc + g]), a01);
                a02 = s02.fma(FloatVector.broadcast(F, sc[2 * gc + g]), a02);
                a03 = s03.fma(FloatVector.broadcast(F, sc[3 * gc + g]), a03);
                s00 = zero; s01 = zero; s02 = zero; s03 = zero;
                g++;
                left = perGroup;
            }
        }
        a00.intoArray(st, p0 + 8); a01.intoArray(st, p0 + 24); a02.intoArray(st, p0 + 40); a03.intoArray(st, p0 + 56);
        s00.intoArray(st, p0); s01.intoArray(st, p0 + 16); s02.intoArray(st, p0 + 32); s03.intoArray(st, p0 + 48);
    }

    /** One token × one row: {@link #tile2x4}'s order for a single lane state at {@code st[p]}, scales at {@code sc[so + g]}. */
    private static void row1(float[] x, int xo, float[] w, int wo, int steps, float[] st, int p, float[] sc, int so,
                             int left, int perGroup) {
        FloatVector s = FloatVector.fromArray(F, st, p);
        int g = 0;
        for (int v = 0; v < steps; v++) {
            int i = v * L;
            s = FloatVector.fromArray(F, w, wo + i).fma(FloatVector.fromArray(F, x, xo + i), s);
            if (--left == 0) {
                s.fma(FloatVector.broadcast(F, sc[so + g]), FloatVector.fromArray(F, st, p + 8)).intoArray(st, p + 8);
                s = FloatVector.zero(F);
                g++;
                left = perGroup;
            }
        }
        s.intoArray(st, p);
    }

    /** Σ a[ao + i]·b[bo + i] for i in [0, len): lanes, then the fixed tree, then the scalar tail in order. */
    static float dot(float[] a, int ao, float[] b, int bo, int len) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(len); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        float s = tree(acc);
        for (; i < len; i++) s += a[ao + i] * b[bo + i];
        return s;
    }
}
