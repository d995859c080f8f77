package grokkit.runtime;

import java.util.Arrays;

/**
 * Keys (after RoPE) and values of every layer for the positions a session has seen, plus whether
 * each position may be attended to (the reference masks keys whose token is the pad token).
 * Layout per layer: {@code [position][kv_head][key_size]} in one float array. Grows by doubling
 * up to the session's limit, so a short conversation with a 8192-token limit stays small
 * (Grok-1: 512 KiB per position over 64 layers).
 */
final class KvCache {
    final int layers;
    final int rowWidth;
    final int limit;
    private float[][] keys;
    private float[][] values;
    private boolean[] attendable;
    private int capacity;

    KvCache(int layers, int rowWidth, int limit) {
        this.layers = layers;
        this.rowWidth = rowWidth;
        this.limit = limit;
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
        this.attendable = new boolean[0];
    }

    /** Makes room for positions {@code [0, positions)}. */
    void ensureCapacity(int positions) {
        if (positions <= capacity) return;
        if (positions > limit) throw new IllegalStateException("KV cache limit " + limit + " exceeded: " + positions);
        int cap = Math.max(16, capacity);
        while (cap < positions) cap = (int) Math.min((long) cap * 2, limit);
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], cap * rowWidth);
            values[l] = Arrays.copyOf(values[l], cap * rowWidth);
        }
        attendable = Arrays.copyOf(attendable, cap);
        capacity = cap;
    }

    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }

    boolean attendable(int position) {
        return attendable[position];
    }

    void setAttendable(int position, boolean ok) {
        attendable[position] = ok;
    }

    int capacity() {
        return capacity;
    }
}
