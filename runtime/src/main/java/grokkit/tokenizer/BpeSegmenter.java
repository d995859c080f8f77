package grokkit.tokenizer;

import java.util.Arrays;

/**
 * The BPE segmentation of a normalised text, as the SentencePiece library does it: split into
 * characters (user-defined symbols are single frozen units), then repeatedly merge the adjacent
 * pair whose concatenation is a vocabulary piece with the highest score (ties: leftmost pair),
 * and finally re-split any piece of type UNUSED into the two parts it was merged from.
 *
 * <p>One instance per call (it holds the work arrays); {@link SentencePieceTokenizer} makes it.
 */
final class BpeSegmenter {
    private final Vocabulary vocab;
    private final char[] text;
    private final int n;

    // Symbols: a doubly linked list over ranges of text; a merged-away symbol has length 0.
    private int[] start, len, prev, next;
    private boolean[] frozen;
    private int symbols;

    // Candidate merges (the library's agenda): a binary max-heap of entry indices.
    private float[] pairScore = new float[64];
    private int[] pairLeft = new int[64], pairRight = new int[64], pairLen = new int[64];
    private int pairs;
    private int[] heap = new int[64];
    private int heapSize;

    // For UNUSED pieces: the (left, right) ranges a merged range came from, keyed by its range.
    private java.util.Map<String, String[]> unusedSplits;

    BpeSegmenter(Vocabulary vocab, char[] normalized) {
        this.vocab = vocab;
        this.text = normalized;
        this.n = normalized.length;
    }

    /** Receives the final pieces as ranges of the normalised text with their ids. */
    interface Sink {
        void piece(char[] text, int from, int to, int id);
    }

    void segment(Sink sink) {
        if (n == 0) {
            return;
        }
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
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            len[r] = 0;
            maybeAddPair(prev[l], l);
            maybeAddPair(l, next[l]);
        }
        for (int i = 0; i != -1; i = next[i]) {
            emit(text, start[i], start[i] + len[i], sink);
        }
    }

    private void split() {
        start = new int[n];
        len = new int[n];
        prev = new int[n];
        next = new int[n];
        frozen = new boolean[n];
        int pos = 0, i = 0;
        while (pos < n) {
            int m = vocab.userSymbols.match(text, pos, n);
            boolean user = m > 0;
            if (!user) {
                m = Character.isHighSurrogate(text[pos]) && pos + 1 < n && Character.isLowSurrogate(text[pos + 1]) ? 2 : 1;
            }
            start[i] = pos;
            len[i] = m;
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
        int id = vocab.mergeable.get(text, from, to);
        if (id < 0) {
            return;
        }
        if (pairs == pairScore.length) {
            int cap = pairs * 2;
            pairScore = Arrays.copyOf(pairScore, cap);
            pairLeft = Arrays.copyOf(pairLeft, cap);
            pairRight = Arrays.copyOf(pairRight, cap);
            pairLen = Arrays.copyOf(pairLen, cap);
            heap = Arrays.copyOf(heap, cap);
        }
        int e = pairs++;
        pairScore[e] = vocab.score[id];
        pairLeft[e] = left;
        pairRight[e] = right;
        pairLen[e] = to - from;
        push(e);
        if (vocab.type[id] == PieceType.UNUSED) {
            if (unusedSplits == null) {
                unusedSplits = new java.util.HashMap<>();
            }
            int mid = from + len[left];
            unusedSplits.put(new String(text, from, to - from),
                    new String[] {new String(text, from, mid - from), new String(text, mid, to - mid)});
        }
    }

    /**
     * Emits a final symbol; an UNUSED piece is replaced by the two parts it was merged from. Like
     * the library, the parts are looked up by the piece's string, and the last candidate merge
     * queued for that string wins.
     */
    private void emit(char[] chars, int from, int to, Sink sink) {
        int id = vocab.pieceToId(chars, from, to);
        if (vocab.type[id] == PieceType.UNUSED && unusedSplits != null) {
            String[] parts = unusedSplits.get(new String(chars, from, to - from));
            if (parts != null) {
                emit(parts[0].toCharArray(), 0, parts[0].length(), sink);
                emit(parts[1].toCharArray(), 0, parts[1].length(), sink);
                return;
            }
        }
        sink.piece(chars, from, to, id);
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
