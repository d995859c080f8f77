package grokkit.runtime;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of attention (q·k and Σ a·v) and the experts' gelu on the Vector API, in the
 * fixed order of docs/KERNELS.md: 8 lanes whatever the hardware, the fixed lane tree, and
 * element-wise results that do not depend on where an element falls in a vector (scalar tails
 * compute exactly what a lane computes), so neither the JIT tier, the vector width, nor how
 * threads split a range changes a bit.
 */
final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int L = S.length();

    private VectorMath() {}

    /** {@code Σ a[aOff+i]·b[bOff+i]} for {@code i < n}: 8 lane sums, the fixed tree, then the tail in order. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += L)
                acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
            float[] lanes = new float[L];
            acc.intoArray(lanes, 0);
            sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        }
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** {@code y[yOff+i] = fma(a, x[xOff+i], y[yOff+i])} for {@code i < n} (one rounding, in lanes and tail alike). */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (int bound = S.loopBound(n); i < bound; i += L)
                FloatVector.fromArray(S, x, xOff + i).fma(av, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] = Math.fma(x[xOff + i], a, y[yOff + i]);
    }

    // gelu(x) = 0.5·x·(1 + tanh(y)) = x − x/(e^{2y} + 1), y = √(2/π)·(x + 0.044715·x³), with e^z
    // computed by our own float32 formula (round z·log2(e) to n, r = z − n·ln2 in two parts, a
    // degree-7 polynomial, times 2^n by exponent bits) from lane-wise +, ×, fma and integer ops
    // only, so vector lanes and the scalar tail give identical bits in every tier. (The Vector
    // API's EXP is a library call whose results may differ from the interpreter's.)
    private static final float C = 0.7978845608028654f, K = 0.044715f;
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693145752f, LN2_LO = 1.42860677e-6f;
    private static final float ROUND = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private static final float MIN_Z = -87f, MAX_Z = 88f;
    private static final float P2 = 1f / 2, P3 = 1f / 6, P4 = 1f / 24, P5 = 1f / 120, P6 = 1f / 720, P7 = 1f / 5040;

    /** e^z for z in [−87, 88] (clamped), ~2 ulp, exactly as {@link #expLanes} computes each lane. */
    static float exp(float z) {
        z = Math.min(Math.max(z, MIN_Z), MAX_Z);
        float t = Math.fma(z, LOG2E, ROUND);
        float n = t - ROUND;
        int bits = (Float.floatToRawIntBits(t) - Float.floatToRawIntBits(ROUND) + 127) << 23;
        float r = Math.fma(n, -LN2_HI, z);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P7, r, P6), r, P5), r, P4), r, P3), r, P2), r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(bits);
    }

    private static FloatVector expLanes(FloatVector z) {
        z = z.max(MIN_Z).min(MAX_Z);
        FloatVector t = z.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        IntVector bits = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), z);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, P7).fma(r, FloatVector.broadcast(S, P6));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        return p.mul(bits.reinterpretAsFloats());
    }

    /** gelu (tanh approximation, {@code jax.nn.gelu}) of one value, bit-identical to a lane of {@link #geluTimes}. */
    static float gelu(float x) {
        float inner = (((x * x) * x) * K + x) * (2 * C);
        float e = exp(inner);
        return x - x / (e + 1f);
    }

    /**
     * {@code h[i] = u[i] · gelu(h[i])} for {@code i} in {@code [from, to)}, gelu with the tanh
     * approximation ({@code jax.nn.gelu}) in float32 (within a few ulp of {@link Ops#geluTanh}'s
     * double evaluation); every element the same bits wherever it falls.
     */
    static void geluTimes(float[] h, float[] u, int from, int to) {
        int i = from;
        if (to - from >= L) {
            for (int bound = from + S.loopBound(to - from); i < bound; i += L) {
                FloatVector x = FloatVector.fromArray(S, h, i);
                FloatVector inner = x.mul(x).mul(x).mul(K).add(x).mul(2 * C);
                FloatVector e = expLanes(inner);
                FloatVector g = x.sub(x.div(e.add(1f)));
                g.mul(FloatVector.fromArray(S, u, i)).intoArray(h, i);
            }
        }
        for (; i < to; i++) h[i] = gelu(h[i]) * u[i];
    }
}
