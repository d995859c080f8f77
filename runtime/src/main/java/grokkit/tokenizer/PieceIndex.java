package grokkit.tokenizer;

import java.util.Arrays;

/**
 * String → id map that looks keys up by a range of a {@code char[]}, so the BPE loop can ask
 * "is text[from, to) a piece?" without allocating a substring per candidate merge.
 *
 * <p>Open addressing with linear probing. The table is large (Grok-1: 131k pieces) and probed at
 * random, so the layout minimises cache misses: one {@code long} per slot holds the key's hash,
 * its length and its index, so a miss is usually decided by a single memory access; a hit then
 * reads the key's (start, id) pair and its chars from one pool.
 */
final class PieceIndex {
    private static final long EMPTY = -1L;
    private static final int MAX_SHORT_LEN = 255;

    private final long[] slots;      // hash << 32 | min(len, 255) << 24 | key index; EMPTY if free
    private final int mask;
    private char[] pool = new char[1 << 16];
    private int poolSize;
    private long[] keyData = new long[1024]; // start << 32 | id
    private int[] keyLen = new int[1024];
    private int keys;

    PieceIndex(int expectedKeys) {
        if (expectedKeys >= 1 << 24) {
            throw new IllegalArgumentException("too many pieces: " + expectedKeys);
        }
        int cap = Integer.highestOneBit(Math.max(16, expectedKeys * 2) - 1) << 1;
        slots = new long[cap];
        Arrays.fill(slots, EMPTY);
        mask = cap - 1;
    }

    /** Adds {@code key → id} unless the key is present; returns false if it was. */
    boolean putIfAbsent(String key, int id) {
        char[] k = key.toCharArray();
        if (get(k, 0, k.length) >= 0) {
            return false;
        }
        if (keys * 2 >= slots.length) {
            throw new IllegalStateException("PieceIndex sized for fewer keys");
        }
        if (poolSize + k.length > pool.length) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + k.length));
        }
        if (keys == keyData.length) {
            keyData = Arrays.copyOf(keyData, keys * 2);
            keyLen = Arrays.copyOf(keyLen, keys * 2);
        }
        System.arraycopy(k, 0, pool, poolSize, k.length);
        keyData[keys] = ((long) poolSize << 32) | (id & 0xFFFFFFFFL);
        keyLen[keys] = k.length;
        poolSize += k.length;
        int h = hash(k, 0, k.length);
        int slot = h & mask;
        while (slots[slot] != EMPTY) {
            slot = (slot + 1) & mask;
        }
        slots[slot] = tag(h, k.length) | keys;
        keys++;
        return true;
    }

    /** The id of {@code text[from, to)}, or -1. */
    int get(char[] text, int from, int to) {
        int len = to - from;
        int h = hash(text, from, to);
        long tag = tag(h, len);
        for (int slot = h & mask; ; slot = (slot + 1) & mask) {
            long s = slots[slot];
            if (s == EMPTY) {
                return -1;
            }
            if ((s & ~0xFFFFFFL) == tag) {
                int k = (int) (s & 0xFFFFFF);
                long data = keyData[k];
                if ((len < MAX_SHORT_LEN || keyLen[k] == len) && sameChars((int) (data >>> 32), text, from, len)) {
                    return (int) data;
                }
            }
        }
    }

    int get(String key) {
        char[] k = key.toCharArray();
        return get(k, 0, k.length);
    }

    private static long tag(int hash, int len) {
        return ((long) hash << 32) | ((long) Math.min(len, MAX_SHORT_LEN) << 24);
    }

    /** A plain loop: pieces are a few chars, too short for the vectorised Arrays.equals setup to pay. */
    private boolean sameChars(int poolFrom, char[] text, int from, int len) {
        for (int i = 0; i < len; i++) {
            if (pool[poolFrom + i] != text[from + i]) {
                return false;
            }
        }
        return true;
    }

    private static int hash(char[] a, int from, int to) {
        int h = 0x9E3779B9;
        for (int i = from; i < to; i++) {
            h = (h ^ a[i]) * 0x01000193;
        }
        return h ^ (h >>> 15);
    }
}
