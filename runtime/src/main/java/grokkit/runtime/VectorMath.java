package grokkit.runtime;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The inner loops of attention (q·k and Σ a·v) and the experts' gelu on the Vector API. */
final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    /** {@code Σ a[aOff+i]·b[bOff+i]} for {@code i < n}. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** {@code y[yOff+i] += a·x[xOff+i]} for {@code i < n}. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (n >= S.length()) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                FloatVector.fromArray(S, x, xOff + i).fma(av, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
    }

    /**
     * {@code h[i] = u[i] · gelu(h[i])} for {@code i} in {@code [from, to)}, gelu with the tanh
     * approximation ({@code jax.nn.gelu}) written as {@code tanh(y) = 1 − 2/(e^{2y} + 1)} in
     * float32: the vector exp is a few ulp from {@link Ops#geluTanh}'s double evaluation, which
     * the scalar tail keeps using.
     */
    static void geluTimes(float[] h, float[] u, int from, int to) {
        int i = from;
        if (to - from >= S.length()) {
            final float c = 0.7978845608028654f, k = 0.044715f;
            for (int bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, h, i);
                FloatVector inner = x.mul(x).mul(x).mul(k).add(x).mul(2 * c);
                FloatVector e = inner.lanewise(VectorOperators.EXP);
                // 0.5·x·(1 + tanh) = x − x/(e + 1)
                FloatVector g = x.sub(x.div(e.add(1f)));
                g.mul(FloatVector.fromArray(S, u, i)).intoArray(h, i);
            }
        }
        for (; i < to; i++) h[i] = u[i] * Ops.geluTanh(h[i]);
    }
}
