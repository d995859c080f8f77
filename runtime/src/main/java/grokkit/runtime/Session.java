package grokkit.runtime;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.quant.WeightMatrix;


/**
 * One generation: a KV cache and a position. {@link #prefill} runs a prompt (or any further
 * tokens) through the model with matrix-matrix products, {@link #decode} appends one token with
 * matrix-vector products; both return the logits of the last position.
 *
 * <p>Not thread-safe: one thread drives a session.
 *
 * <p>Masking follows the reference: position j is a key for position i when j ≤ i and token j is
 * not the pad token. A query with no such key (a prompt that starts with pad tokens) gets, as in
 * the reference's single full pass, a uniform average over every key of the current call.
 */
public final class Session implements AutoCloseable {
    /** Multiply-adds of q·k over the cache above which attention is split across threads. */
    private static final long ATTENTION_PARALLEL_WORK = Long.getLong("grok.attnParallelWork", 1L << 20);

    private final GrokModel model;
    private final ModelConfig c;
    private final RowParallel par;
    private final KvCache cache;
    private final int emb, keySize, qHeads, kvHeads, kvDim, group, experts, selected, ffn;
    private final float eps, embScale, outScale, attnMultiplier, logitCap;
    private int position;
    private long layerNanos, logitNanos, tokensRun;
    /** Wall time per {@link Phase} since creation or {@link #resetTimings}. */
    private final long[] phaseNanos = new long[Phase.values().length];
    private long mark;
    private Buffers buffers;
    /** Sees the expert products' inputs, or null (the default). */
    private ActivationObserver observer;

    Session(GrokModel model) {
        this.model = model;
        this.c = model.config();
        this.par = model.parallel();
        this.emb = c.embSize();
        this.keySize = c.keySize();
        this.qHeads = c.numQHeads();
        this.kvHeads = c.numKvHeads();
        this.kvDim = kvHeads * keySize;
        this.group = c.queryGroupSize();
        this.experts = c.numExperts();
        this.selected = c.numSelectedExperts();
        this.ffn = c.ffnSize();
        this.eps = (float) c.rmsNormEps();
        this.embScale = (float) c.embeddingMultiplierScale();
        this.outScale = (float) c.outputMultiplierScale();
        this.attnMultiplier = (float) c.attnOutputMultiplier();
        this.logitCap = (float) c.attnLogitCap();
        this.cache = new KvCache(c.numLayers(), kvDim, model.maxContext());
    }

    /** Tokens in the session so far (the next token's position). */
    public int position() {
        return position;
    }

    /** Tokens that still fit before the context limit. */
    public int remaining() {
        return model.maxContext() - position;
    }

    /** Shows the inputs of every expert product from now on to {@code o} (null: none). */
    public void observe(ActivationObserver o) {
        this.observer = o;
    }

    /** Forgets every token (keeps the cache's memory for reuse). */
    public void reset() {
        position = 0;
    }

    /**
     * Where this session's time went since it was created or {@link #resetTimings}: the decoder
     * layers (embedding lookup included) and the output head (final norm + logits). Benchmarks
     * use it to project a one-layer model to 64 layers: {@code head + 64·layers/numLayers}.
     */
    public record Timings(long layerNanos, long logitNanos, long tokens) {}

    public Timings timings() {
        return new Timings(layerNanos, logitNanos, tokensRun);
    }

    public void resetTimings() {
        layerNanos = logitNanos = tokensRun = 0;
        java.util.Arrays.fill(phaseNanos, 0);
    }

    /**
     * The steps of a forward pass, timed separately (wall time of the calling thread, so a
     * parallel product counts once, including its hand-off to the workers). Benchmarks use them
     * to tell the matrix products' share of a token from everything around them.
     */
    public enum Phase {
        /** Embedding lookup, RoPE phases, buffers. */
        EMBED,
        /** RMSNorms and residual adds. */
        NORMS,
        /** q, k, v products (one dispatch). */
        QKV,
        /** RoPE and the KV-cache append. */
        ROPE,
        /** Attention over the cache. */
        ATTENTION,
        /** Attention output product. */
        ATTN_OUT,
        /** Router product, softmax, top-k, grouping tokens by expert. */
        ROUTER,
        /** Selected experts' gate and up products and gelu(gate)·up (one dispatch). */
        EXPERT_UP,
        /** Selected experts' down products and their gate-weighted sum (one dispatch). */
        EXPERT_DOWN,
        /** Final norm, output head product, output scale. */
        HEAD
    }

    /** Nanoseconds spent in {@code phase} since creation or {@link #resetTimings}. */
    public long phaseNanos(Phase phase) {
        return phaseNanos[phase.ordinal()];
    }

    /** Adds the time since the last mark to {@code phase} and moves the mark. */
    private void lap(Phase phase) {
        long now = System.nanoTime();
        phaseNanos[phase.ordinal()] += now - mark;
        mark = now;
    }

    /** Appends {@code tokens} (in chunks of {@code prefillChunk}) and returns the last position's logits. */
    public float[] prefill(int[] tokens) throws BadInputException {
        model.checkTokens(tokens, position);
        float[] last = null;
        int chunk = model.options().prefillChunk();
        for (int start = 0; start < tokens.length; start += chunk) {
            int len = Math.min(chunk, tokens.length - start);
            last = run(tokens, start, len, false)[0];
        }
        return last;
    }

    /** Appends one token and returns the logits for the next one. */
    public float[] decode(int token) throws BadInputException {
        int[] one = {token};
        model.checkTokens(one, position);
        return run(one, 0, 1, false)[0];
    }

    /** Appends {@code tokens} and returns the logits of every one of their positions. */
    float[][] forwardAll(int[] tokens) throws BadInputException {
        model.checkTokens(tokens, position);
        float[][] out = new float[tokens.length][];
        int chunk = model.options().prefillChunk();
        for (int start = 0; start < tokens.length; start += chunk) {
            int len = Math.min(chunk, tokens.length - start);
            float[][] rows = run(tokens, start, len, true);
            System.arraycopy(rows, 0, out, start, len);
        }
        return out;
    }

    @Override
    public void close() {
        // The cache is plain heap memory; nothing to release explicitly.
    }

    /**
     * Runs {@code tokens[start, start+count)} at positions {@code position...}, appending them to
     * the cache; returns the logits of all of them or of the last one.
     */
    private float[][] run(int[] tokens, int start, int count, boolean allRows) {
        long t0 = System.nanoTime();
        mark = t0;
        int p0 = position;
        cache.ensureCapacity(p0 + count);
        Buffers b = buffers(count);
        float[][] h = b.h, cos = b.cos, sin = b.sin;
        WeightMatrix e = model.embeddingMatrix();
        for (int t = 0; t < count; t++) {
            int token = tokens[start + t];
            e.dequantizeColumn(token, h[t]);
            for (int i = 0; i < emb; i++) h[t][i] *= embScale;
            cache.setAttendable(p0 + t, token != c.padToken());
        }
        for (int t = 0; t < count; t++) Ops.ropePhases(p0 + t, model.ropeInverseFrequencies(), cos[t], sin[t]);
        lap(Phase.EMBED);
        for (int l = 0; l < c.numLayers(); l++) layer(l, h, p0, count, cos, sin, b);
        position = p0 + count;
        long t1 = System.nanoTime();

        int first = allRows ? 0 : count - 1;
        float[][] normed = new float[count - first][emb];
        for (int t = first; t < count; t++) Ops.rmsNorm(h[t], model.finalNorm(), eps, normed[t - first]);
        float[][] logits = new float[normed.length][c.vocabSize()];
        par.matmul(e, normed, logits);
        for (float[] row : logits) for (int i = 0; i < row.length; i++) row[i] *= outScale;
        lap(Phase.HEAD);
        layerNanos += t1 - t0;
        logitNanos += System.nanoTime() - t1;
        tokensRun += count;
        return logits;
    }

    /**
     * Activations of one call, reused across layers, and kept for the next call of the same
     * length: a decode step allocates nothing per layer.
     */
    private final class Buffers {
        final int count;
        final float[][] h, xn, q, k, v, att, proj, cos, sin;
        /** Per (token, selected slot) assignment a = t·selected + s: gate/hidden, up, expert output. */
        final float[][] hidden, up, expertOut;
        final float[][] gates;
        final int[][] chosen;
        final float[] probs;

        Buffers(int count) {
            this.count = count;
            h = new float[count][emb];
            xn = new float[count][emb];
            q = new float[count][qHeads * keySize];
            k = new float[count][kvDim];
            v = new float[count][kvDim];
            att = new float[count][qHeads * keySize];
            proj = new float[count][emb];
            cos = new float[count][keySize / 2];
            sin = new float[count][keySize / 2];
            int assignments = count * selected;
            hidden = new float[assignments][ffn];
            up = new float[assignments][ffn];
            expertOut = new float[assignments][emb];
            gates = new float[count][selected];
            chosen = new int[count][selected];
            probs = new float[experts];
        }
    }

    private Buffers buffers(int count) {
        if (buffers == null || buffers.count != count) buffers = new Buffers(count);
        return buffers;
    }

    private void layer(int l, float[][] h, int p0, int count, float[][] cos, float[][] sin, Buffers b) {
        LayerWeights w = model.layer(l);
        // Attention block.
        for (int t = 0; t < count; t++) Ops.rmsNorm(h[t], w.normPreAttn(), eps, b.xn[t]);
        lap(Phase.NORMS);
        par.matmuls(new WeightMatrix[] {w.query(), w.key(), w.value()},
                new float[][][] {b.xn, b.xn, b.xn}, new float[][][] {b.q, b.k, b.v});
        lap(Phase.QKV);
        float[] keys = cache.keys(l), values = cache.values(l);
        for (int t = 0; t < count; t++) {
            for (int head = 0; head < qHeads; head++) Ops.rope(b.q[t], head * keySize, keySize, cos[t], sin[t]);
            for (int head = 0; head < kvHeads; head++) Ops.rope(b.k[t], head * keySize, keySize, cos[t], sin[t]);
            System.arraycopy(b.k[t], 0, keys, (p0 + t) * kvDim, kvDim);
            System.arraycopy(b.v[t], 0, values, (p0 + t) * kvDim, kvDim);
        }
        lap(Phase.ROPE);
        attention(l, b.q, b.att, p0, count);
        lap(Phase.ATTENTION);
        par.matmul(w.attnOut(), b.att, b.proj);
        lap(Phase.ATTN_OUT);
        for (int t = 0; t < count; t++) {
            Ops.rmsNorm(b.proj[t], w.normPostAttn(), eps, b.proj[t]);
            for (int i = 0; i < emb; i++) h[t][i] += b.proj[t][i];
        }
        // MoE block.
        for (int t = 0; t < count; t++) Ops.rmsNorm(h[t], w.normPreMoe(), eps, b.xn[t]);
        lap(Phase.NORMS);
        moe(l, w, b, count);
        for (int t = 0; t < count; t++) {
            Ops.rmsNorm(b.proj[t], w.normPostMoe(), eps, b.proj[t]);
            for (int i = 0; i < emb; i++) h[t][i] += b.proj[t][i];
        }
        lap(Phase.NORMS);
    }

    /**
     * Grouped-query attention of the call's queries (positions {@code p0 + t}) over the cache:
     * logits {@code q·k · attn_output_multiplier}, soft-capped {@code cap·tanh(x/cap)}, causal and
     * pad-key masked, softmax, weighted sum of values. Split over (query, head) pairs.
     */
    private void attention(int l, float[][] q, float[][] out, int p0, int count) {
        float[] keys = cache.keys(l), values = cache.values(l);
        int end = p0 + count;
        // Split over (query, head) pairs only when there is enough work to repay a hand-off: a
        // decode step's attention over a short cache is a few µs per head.
        long work = (long) count * qHeads * end * keySize;
        int grain = work >= ATTENTION_PARALLEL_WORK ? 1 : count * qHeads;
        par.forRange(count * qHeads, grain, (from, to) -> {
            float[] weights = new float[end];
            for (int job = from; job < to; job++) {
                int t = job / qHeads, head = job % qHeads;
                int kvOff = (head / group) * keySize;
                int pos = p0 + t;
                float[] qv = q[t];
                int qOff = head * keySize;
                boolean anyKey = false;
                for (int j = 0; j <= pos; j++) {
                    if (!cache.attendable(j)) {
                        weights[j] = Float.NEGATIVE_INFINITY;
                        continue;
                    }
                    anyKey = true;
                    float dot = VectorMath.dot(qv, qOff, keys, j * kvDim + kvOff, keySize);
                    weights[j] = Ops.softCap(dot * attnMultiplier, logitCap);
                }
                int span;
                if (anyKey) {
                    span = pos + 1;
                    Ops.softmax(weights, span);
                } else {
                    // Every key masked: the reference's softmax over all -1e30 is uniform over the call's keys.
                    span = end;
                    java.util.Arrays.fill(weights, 0, span, 1f / span);
                }
                float[] o = out[t];
                java.util.Arrays.fill(o, qOff, qOff + keySize, 0f);
                for (int j = 0; j < span; j++) {
                    float a = weights[j];
                    if (a == 0f) continue;
                    VectorMath.axpy(a, values, j * kvDim + kvOff, o, qOff, keySize);
                }
            }
        });
    }

    /**
     * Mixture of experts on {@code b.xn} into {@code b.proj}: router softmax over all experts,
     * top-k by probability, gate = that probability (not renormalised). Tokens are grouped by
     * expert so each selected expert runs one product over all its tokens; unselected experts
     * are never read. Two dispatches: gate·up·gelu, then down and the gated sum.
     */
    private void moe(int layer, LayerWeights w, Buffers b, int count) {
        float[][] x = b.xn;
        int[][] chosen = b.chosen;
        float[][] gates = b.gates;
        float[] probs = b.probs;
        int[] tokensOf = new int[experts];
        for (int t = 0; t < count; t++) {
            w.router().matvec(x[t], probs, 0, experts);
            Ops.softmax(probs, experts);
            Ops.topK(probs, selected, chosen[t]);
            for (int s = 0; s < selected; s++) {
                gates[t][s] = probs[chosen[t][s]];
                tokensOf[chosen[t][s]]++;
            }
        }
        // Assignment a = t·selected + s; group assignments by expert, in token order.
        int active = 0;
        for (int n : tokensOf) if (n > 0) active++;
        WeightMatrix[] gate = new WeightMatrix[active], upM = new WeightMatrix[active], down = new WeightMatrix[active];
        float[][][] xs = new float[active][][], hs = new float[active][][], us = new float[active][][], os = new float[active][][];
        int[] slotOf = new int[experts];
        for (int e = 0, i = 0; e < experts; e++) {
            if (tokensOf[e] == 0) continue;
            gate[i] = w.moeLinear()[e];
            upM[i] = w.moeLinearV()[e];
            down[i] = w.moeLinear1()[e];
            int n = tokensOf[e];
            xs[i] = new float[n][];
            hs[i] = new float[n][];
            us[i] = new float[n][];
            os[i] = new float[n][];
            slotOf[e] = i++;
        }
        int[] filled = new int[active];
        for (int t = 0; t < count; t++) {
            for (int s = 0; s < selected; s++) {
                int i = slotOf[chosen[t][s]], j = filled[i]++, a = t * selected + s;
                xs[i][j] = x[t];
                hs[i][j] = b.hidden[a];
                us[i][j] = b.up[a];
                os[i][j] = b.expertOut[a];
            }
        }
        lap(Phase.ROUTER);
        ActivationObserver obs = observer;
        if (obs != null) for (int e = 0; e < experts; e++) if (tokensOf[e] > 0) obs.expertInput(layer, e, xs[slotOf[e]]);
        par.gatedMatmuls(gate, upM, xs, hs, us);
        if (obs != null) for (int e = 0; e < experts; e++) if (tokensOf[e] > 0) obs.downInput(layer, e, hs[slotOf[e]]);
        lap(Phase.EXPERT_UP);
        par.combinedMatmuls(down, hs, os, b.expertOut, gates, b.proj);
        lap(Phase.EXPERT_DOWN);
    }
}
