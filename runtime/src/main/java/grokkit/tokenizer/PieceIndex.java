package grokkit.tokenizer;

import java.util.Arrays;

/**
 * String → id map that looks keys up by a range of a {@code char[]}, so the BPE loop can ask
 * "is text[from, to) a piece?" without allocating a substring per candidate merge.
 * Open addressing with linear probing; keys are stored back to back in one char pool.
 */
final class PieceIndex {
    private final int[] slotId;      // -1 = empty
    private final int[] slotHash;
    private final int mask;
    private char[] pool = new char[1 << 16];
    private int poolSize;
    private int[] keyStart = new int[1024];
    private int[] keyLen = new int[1024];
    private int[] keyId = new int[1024];
    private int keys;

    PieceIndex(int expectedKeys) {
        int cap = Integer.highestOneBit(Math.max(16, expectedKeys * 2) - 1) << 1;
        slotId = new int[cap];
        slotHash = new int[cap];
        Arrays.fill(slotId, -1);
        mask = cap - 1;
    }

    /** Adds {@code key → id} unless the key is present; returns false if it was. */
    boolean putIfAbsent(String key, int id) {
        char[] k = key.toCharArray();
        if (get(k, 0, k.length) >= 0) {
            return false;
        }
        if (keys * 2 >= slotId.length) {
            throw new IllegalStateException("PieceIndex sized for fewer keys");
        }
        if (poolSize + k.length > pool.length) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + k.length));
        }
        if (keys == keyStart.length) {
            keyStart = Arrays.copyOf(keyStart, keys * 2);
            keyLen = Arrays.copyOf(keyLen, keys * 2);
            keyId = Arrays.copyOf(keyId, keys * 2);
        }
        System.arraycopy(k, 0, pool, poolSize, k.length);
        keyStart[keys] = poolSize;
        keyLen[keys] = k.length;
        keyId[keys] = id;
        poolSize += k.length;
        int h = hash(k, 0, k.length);
        int slot = h & mask;
        while (slotId[slot] >= 0) {
            slot = (slot + 1) & mask;
        }
        slotId[slot] = keys;
        slotHash[slot] = h;
        keys++;
        return true;
    }

    /** The id of {@code text[from, to)}, or -1. */
    int get(char[] text, int from, int to) {
        int h = hash(text, from, to);
        int len = to - from;
        for (int slot = h & mask; ; slot = (slot + 1) & mask) {
            int k = slotId[slot];
            if (k < 0) {
                return -1;
            }
            if (slotHash[slot] == h && keyLen[k] == len
                    && Arrays.equals(pool, keyStart[k], keyStart[k] + len, text, from, to)) {
                return keyId[k];
            }
        }
    }

    int get(String key) {
        char[] k = key.toCharArray();
        return get(k, 0, k.length);
    }

    private static int hash(char[] a, int from, int to) {
        int h = 0x9E3779B9;
        for (int i = from; i < to; i++) {
            h = (h ^ a[i]) * 0x01000193;
        }
        return h ^ (h >>> 15);
    }
}
