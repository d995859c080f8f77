package grokkit.tokenizer;

import java.util.Arrays;

/**
 * (left piece id, right piece id) → id of the piece spelled by their concatenation, for every
 * mergeable piece that splits into two mergeable pieces. It answers the BPE loop's question "is
 * left+right a piece?" with one probe of one {@code long} (no hashing of chars, one cache miss),
 * which is what makes the Java tokenizer competitive with the C++ library.
 *
 * <p>It is exact: piece strings are unique, so (left, right) determines the concatenated string.
 * Symbols that are not pieces (characters outside the vocabulary) have no id; for those the
 * segmenter falls back to looking the string up in {@link PieceIndex}.
 */
final class MergeTable {
    static final int ID_BITS = 21;
    static final int MAX_ID = (1 << ID_BITS) - 1;
    private static final long EMPTY = -1L;

    private final long[] slots; // left << 42 | right << 21 | merged
    private final int mask;

    private MergeTable(long[] slots) {
        this.slots = slots;
        this.mask = slots.length - 1;
    }

    /** Builds the table, or returns null when ids do not fit (vocabularies over 2M pieces). */
    static MergeTable build(Vocabulary vocab) {
        if (vocab.size() > MAX_ID) {
            return null;
        }
        long[] entries = new long[1024];
        int count = 0;
        for (int id = 0; id < vocab.size(); id++) {
            PieceType t = vocab.type[id];
            if (t != PieceType.NORMAL && t != PieceType.USER_DEFINED && t != PieceType.UNUSED) {
                continue;
            }
            char[] p = vocab.piece[id].toCharArray();
            for (int k = 1; k < p.length; k++) {
                if (Character.isLowSurrogate(p[k]) && Character.isHighSurrogate(p[k - 1])) {
                    continue; // symbols are whole code points
                }
                int left = vocab.mergeable.get(p, 0, k);
                if (left < 0) {
                    continue;
                }
                int right = vocab.mergeable.get(p, k, p.length);
                if (right < 0) {
                    continue;
                }
                if (count == entries.length) {
                    entries = Arrays.copyOf(entries, count * 2);
                }
                entries[count++] = key(left, right) | id;
            }
        }
        int cap = Integer.highestOneBit(Math.max(16, count * 2) - 1) << 1;
        long[] slots = new long[cap];
        Arrays.fill(slots, EMPTY);
        MergeTable table = new MergeTable(slots);
        for (int i = 0; i < count; i++) {
            long e = entries[i];
            int slot = table.slotOf(e >>> ID_BITS);
            while (slots[slot] != EMPTY) {
                slot = (slot + 1) & table.mask;
            }
            slots[slot] = e;
        }
        return table;
    }

    /** The merged piece id, or -1 when left+right is not a mergeable piece. */
    int get(int left, int right) {
        long k = key(left, right) >>> ID_BITS;
        for (int slot = slotOf(k); ; slot = (slot + 1) & mask) {
            long s = slots[slot];
            if (s == EMPTY) {
                return -1;
            }
            if (s >>> ID_BITS == k) {
                return (int) (s & MAX_ID);
            }
        }
    }

    private static long key(int left, int right) {
        return ((long) left << (2 * ID_BITS)) | ((long) right << ID_BITS);
    }

    private int slotOf(long pair) {
        long h = pair * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }
}
