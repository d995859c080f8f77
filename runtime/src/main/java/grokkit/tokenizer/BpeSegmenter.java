package grokkit.tokenizer;

import java.util.Arrays;

/**
 * The BPE segmentation of a normalised text, as the SentencePiece library does it: split into
 * characters (user-defined symbols are single frozen units), then repeatedly merge the adjacent
 * pair whose concatenation is a vocabulary piece with the highest score (ties: leftmost pair),
 * and finally re-split any piece of type UNUSED into the two parts it was merged from.
 *
 * <p>Not thread-safe; {@link SentencePieceTokenizer} keeps one per thread and reuses its work
 * arrays across calls.
 */
final class BpeSegmenter {
    /** Work arrays above this many symbols are not kept after the call. */
    private static final int KEEP_LIMIT = 1 << 16;

    private final Vocabulary vocab;
    private final MergeTable merges; // null: look every candidate up by its string

    private char[] text;
    private int n;

    // Symbols: a doubly linked list over ranges of text; a merged-away symbol has length 0.
    // id: the mergeable piece the symbol spells, or -1 (a character outside the vocabulary).
    private int[] start = new int[0], len, prev, next, id;
    private boolean[] frozen;
    private int symbols;

    // Candidate merges (the library's agenda): a binary max-heap of entry indices.
    private float[] pairScore = new float[0];
    private int[] pairLeft, pairRight, pairLen, pairId, heap;
    private int pairs, heapSize;

    // For UNUSED pieces: the parts a merged string came from (the library's rev_merge).
    private java.util.Map<String, String[]> unusedSplits;

    BpeSegmenter(Vocabulary vocab, MergeTable merges) {
        this.vocab = vocab;
        this.merges = merges;
    }

    /** Receives the final pieces as ranges of the normalised text with their ids. */
    interface Sink {
        void piece(char[] text, int from, int to, int id);
    }

    void segment(char[] normalized, Sink sink) {
        text = normalized;
        n = normalized.length;
        pairs = 0;
        heapSize = 0;
        unusedSplits = null;
        if (n == 0) {
            return;
        }
        ensureCapacity(n);
        split();
        for (int i = 1; i < symbols; i++) {
            maybeAddPair(i - 1, i);
        }
        while (heapSize > 0) {
            int top = pop();
            int l = pairLeft[top], r = pairRight[top];
            // Stale candidate: one side was merged away or grew since it was queued.
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != pairLen[top]) {
                continue;
            }
            len[l] += len[r];
            id[l] = pairId[top];
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            len[r] = 0;
            maybeAddPair(prev[l], l);
            maybeAddPair(l, next[l]);
        }
        for (int i = 0; i != -1; i = next[i]) {
            emit(text, start[i], start[i] + len[i], id[i], sink);
        }
        if (n > KEEP_LIMIT) {
            start = new int[0];
            pairScore = new float[0];
        }
        text = null;
    }

    private void ensureCapacity(int n) {
        if (start.length < n) {
            int cap = Math.max(n, 64);
            start = new int[cap];
            len = new int[cap];
            prev = new int[cap];
            next = new int[cap];
            id = new int[cap];
            frozen = new boolean[cap];
        }
        if (pairScore.length < 2 * n + 8) {
            growPairs(2 * n + 8);
        }
    }

    private void growPairs(int cap) {
        pairScore = Arrays.copyOf(pairScore, cap);
        pairLeft = pairLeft == null ? new int[cap] : Arrays.copyOf(pairLeft, cap);
        pairRight = pairRight == null ? new int[cap] : Arrays.copyOf(pairRight, cap);
        pairLen = pairLen == null ? new int[cap] : Arrays.copyOf(pairLen, cap);
        pairId = pairId == null ? new int[cap] : Arrays.copyOf(pairId, cap);
        heap = heap == null ? new int[cap] : Arrays.copyOf(heap, cap);
    }

    private void split() {
        int pos = 0, i = 0;
        while (pos < n) {
            int m = vocab.userSymbols.match(text, pos, n);
            boolean user = m > 0;
            int symbolId;
            if (user) {
                symbolId = vocab.mergeable.get(text, pos, pos + m); // frozen: never merged
            } else if (Character.isHighSurrogate(text[pos]) && pos + 1 < n && Character.isLowSurrogate(text[pos + 1])) {
                m = 2;
                symbolId = vocab.mergeable.get(text, pos, pos + 2);
            } else {
                m = 1;
                symbolId = vocab.charId[text[pos]];
            }
            start[i] = pos;
            len[i] = m;
            id[i] = symbolId;
            frozen[i] = user;
            prev[i] = i - 1;
            pos += m;
            next[i] = pos < n ? i + 1 : -1;
            i++;
        }
        symbols = i;
    }

    private void maybeAddPair(int left, int right) {
        if (left < 0 || right < 0 || frozen[left] || frozen[right]) {
            return;
        }
        int from = start[left], to = from + len[left] + len[right];
        int merged = merges != null && id[left] >= 0 && id[right] >= 0
                ? merges.get(id[left], id[right])
                : vocab.mergeable.get(text, from, to);
        if (merged < 0) {
            return;
        }
        if (pairs == pairScore.length) {
            growPairs(pairs * 2);
        }
        int e = pairs++;
        pairScore[e] = vocab.score[merged];
        pairLeft[e] = left;
        pairRight[e] = right;
        pairLen[e] = to - from;
        pairId[e] = merged;
        push(e);
        if (vocab.type[merged] == PieceType.UNUSED) {
            if (unusedSplits == null) {
                unusedSplits = new java.util.HashMap<>();
            }
            int mid = from + len[left];
            unusedSplits.put(new String(text, from, to - from),
                    new String[] {new String(text, from, mid - from), new String(text, mid, to - mid)});
        }
    }

    /**
     * Emits a final symbol with the library's id lookup (reserved pieces first, then mergeable
     * ones, else unknown); an UNUSED piece is replaced by the two parts it was merged from. Like
     * the library, the parts are looked up by the piece's string, and the last candidate merge
     * queued for that string wins.
     */
    private void emit(char[] chars, int from, int to, int mergeableId, Sink sink) {
        int pieceId = vocab.reserved.get(chars, from, to);
        if (pieceId < 0) {
            pieceId = mergeableId >= 0 ? mergeableId : vocab.unkId;
        }
        if (vocab.type[pieceId] == PieceType.UNUSED && unusedSplits != null) {
            String[] parts = unusedSplits.get(new String(chars, from, to - from));
            if (parts != null) {
                emit(parts[0].toCharArray(), 0, parts[0].length(), vocab.mergeable.get(parts[0]), sink);
                emit(parts[1].toCharArray(), 0, parts[1].length(), vocab.mergeable.get(parts[1]), sink);
                return;
            }
        }
        sink.piece(chars, from, to, pieceId);
    }

    // ---- heap ordered like the library's agenda: higher score first, then smaller left index.

    private boolean before(int a, int b) {
        float sa = pairScore[a], sb = pairScore[b];
        return sa > sb || (sa == sb && pairLeft[a] < pairLeft[b]);
    }

    private void push(int e) {
        int i = heapSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(e, heap[parent])) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = e;
    }

    private int pop() {
        int top = heap[0];
        int last = heap[--heapSize];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= heapSize) {
                break;
            }
            if (c + 1 < heapSize && before(heap[c + 1], heap[c])) {
                c++;
            }
            if (!before(heap[c], last)) {
                break;
            }
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = last;
        return top;
    }
}
