package grokkit.tokenizer;

import grokkit.errors.BadInputException;
import grokkit.tokenizer.ModelProto.TrainerSpec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A pure-Java SentencePiece tokenizer for BPE models (Grok-1's {@code tokenizer.model}) that
 * encodes and decodes exactly as the reference library does:
 * <ol>
 *   <li>normalise ({@link Normalizer}: dummy prefix, ' ' → ▁; identity rules only),</li>
 *   <li>segment ({@link BpeSegmenter}: user symbols first, score-ordered merges),</li>
 *   <li>map pieces without an id to {@code <0xNN>} byte pieces (byte fallback) or to one merged
 *       unknown piece.</li>
 * </ol>
 * Immutable and thread-safe. BOS/EOS are never added; callers prepend {@link #bosId()} themselves.
 */
public final class SentencePieceTokenizer {
    private final ModelProto model;
    private final Vocabulary vocab;
    private final Normalizer normalizer;
    private final boolean byteFallback;
    private final MergeTable merges;
    /** Segmenters keep their work arrays between calls; one per thread keeps this class thread-safe. */
    private final ThreadLocal<BpeSegmenter> segmenters;

    /** Ids and the matching piece strings of one encoding. */
    public record Encoding(int[] ids, List<String> pieces) {}

    private SentencePieceTokenizer(ModelProto model, Vocabulary vocab) {
        this.model = model;
        this.vocab = vocab;
        this.byteFallback = model.trainer().byteFallback();
        this.normalizer = new Normalizer(model.normalizer(), model.trainer().treatWhitespaceAsSuffix(), vocab.userSymbols);
        this.merges = MergeTable.build(vocab);
        this.segmenters = ThreadLocal.withInitial(() -> new BpeSegmenter(vocab, merges));
    }

    /** Loads a {@code tokenizer.model}; a missing, malformed or unsupported file throws naming it. */
    public static SentencePieceTokenizer load(Path file) throws BadInputException {
        ModelProto proto = ModelProto.read(file);
        try {
            return of(proto);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("tokenizer file " + file + ": " + e.getMessage(), e);
        }
    }

    /** @throws IllegalArgumentException when the model is not a supported, consistent BPE model */
    public static SentencePieceTokenizer of(ModelProto proto) {
        if (proto.trainer().modelType() != TrainerSpec.BPE) {
            throw new IllegalArgumentException("model_type " + proto.trainer().modelType()
                    + " is not supported (only BPE = " + TrainerSpec.BPE + ")");
        }
        if (proto.normalizer().precompiledCharsmapBytes() > 0) {
            throw new IllegalArgumentException("normalizer '" + proto.normalizer().name()
                    + "' has a character map; only the identity normaliser is supported");
        }
        if (proto.denormalizer() != null && proto.denormalizer().precompiledCharsmapBytes() > 0) {
            throw new IllegalArgumentException("the model has a denormalizer character map ('" + proto.denormalizer().name()
                    + "'); only models without one are supported");
        }
        return new SentencePieceTokenizer(proto, new Vocabulary(proto.pieces()));
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** BOS id from the trainer spec (-1 if the model has none). */
    public int bosId() {
        return model.trainer().bosId();
    }

    public int eosId() {
        return model.trainer().eosId();
    }

    public int padId() {
        return model.trainer().padId();
    }

    public int unkId() {
        return vocab.unkId;
    }

    public String idToPiece(int id) {
        checkId(id);
        return vocab.piece[id];
    }

    public PieceType pieceType(int id) {
        checkId(id);
        return vocab.type[id];
    }

    public float score(int id) {
        checkId(id);
        return vocab.score[id];
    }

    /** The library's {@code PieceToId}: the unknown id for a string that is no piece. */
    public int pieceToId(String piece) {
        return vocab.pieceToId(piece);
    }

    public ModelProto model() {
        return model;
    }

    /** Encodes text to ids (no BOS/EOS). */
    public int[] encode(String text) {
        IdSink sink = new IdSink(false);
        run(text, sink);
        return sink.ids();
    }

    /** Encodes text to ids and piece strings (byte pieces as {@code <0xNN>}). */
    public Encoding encodeWithPieces(String text) {
        IdSink sink = new IdSink(true);
        run(text, sink);
        return new Encoding(sink.ids(), List.copyOf(sink.pieces));
    }

    private void run(String text, IdSink sink) {
        char[] normalized = normalizer.normalize(text);
        segmenters.get().segment(normalized, sink);
    }

    /** Collects segmenter output, applying byte fallback or unknown-run merging. */
    private final class IdSink implements BpeSegmenter.Sink {
        private final boolean withPieces;
        private int[] ids = new int[64];
        private int count;
        private final List<String> pieces = new ArrayList<>();
        private boolean prevUnknown;

        IdSink(boolean withPieces) {
            this.withPieces = withPieces;
        }

        @Override
        public void piece(char[] text, int from, int to, int id) {
            boolean unknown = id == vocab.unkId;
            if (unknown && byteFallback) {
                for (byte b : new String(text, from, to - from).getBytes(StandardCharsets.UTF_8)) {
                    int byteId = vocab.byteId[b & 0xFF];
                    add(byteId, withPieces ? Vocabulary.bytePiece(b & 0xFF) : null);
                }
            } else if (unknown && prevUnknown) {
                // The library merges a run of unknown pieces into one (the piece text grows).
                if (withPieces) {
                    pieces.set(pieces.size() - 1, pieces.getLast() + new String(text, from, to - from));
                }
            } else {
                add(id, withPieces ? new String(text, from, to - from) : null);
            }
            prevUnknown = unknown;
        }

        private void add(int id, String piece) {
            if (count == ids.length) {
                ids = Arrays.copyOf(ids, count * 2);
            }
            ids[count++] = id;
            if (withPieces) {
                pieces.add(piece);
            }
        }

        int[] ids() {
            return Arrays.copyOf(ids, count);
        }
    }

    /**
     * Decodes ids to text as the library does: control pieces vanish, the unknown piece becomes the
     * trainer's unk surface (" ⁇ "), ▁ becomes ' ', the first ▁ of the text is dropped when the model
     * adds a dummy prefix, and runs of byte pieces are reassembled as UTF-8 (each byte that does not
     * start a valid sequence becomes U+FFFD).
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids) {
        StringBuilder text = new StringBuilder();
        byte[] bytes = new byte[16];
        int byteCount = 0;
        boolean bosWs = true;      // a leading ▁ may still be dropped
        boolean bosWsSeen = false; // the previous piece dropped it
        boolean stripLeading = model.normalizer().addDummyPrefix() || model.normalizer().removeExtraWhitespaces();
        for (int id : ids) {
            checkId(id);
            PieceType t = vocab.type[id];
            if (t == PieceType.BYTE) {
                if (byteCount == bytes.length) {
                    bytes = Arrays.copyOf(bytes, byteCount * 2);
                }
                bytes[byteCount++] = (byte) vocab.byteValue[id];
                continue;
            }
            Utf8.decodeLikeSentencePiece(bytes, byteCount, text);
            byteCount = 0;
            if (bosWsSeen || !text.isEmpty()) {
                bosWs = false;
            }
            bosWsSeen = false;
            if (t == PieceType.CONTROL) {
                continue;
            }
            if (t == PieceType.UNKNOWN) {
                text.append(model.trainer().unkSurface());
                continue;
            }
            String p = vocab.piece[id];
            int from = 0;
            if (bosWs && stripLeading && !p.isEmpty() && p.charAt(0) == Normalizer.SPACE_SYMBOL) {
                from = 1;
                bosWsSeen = !model.normalizer().removeExtraWhitespaces();
            }
            for (int i = from; i < p.length(); i++) {
                char c = p.charAt(i);
                text.append(c == Normalizer.SPACE_SYMBOL ? ' ' : c);
            }
        }
        Utf8.decodeLikeSentencePiece(bytes, byteCount, text);
        return text.toString();
    }

    /**
     * True when {@code ids[0, count)} ends in byte pieces that start a multi-byte UTF-8 character
     * but do not finish it yet (a streaming decoder waits for more ids).
     */
    public boolean endsWithIncompleteUtf8(int[] ids, int count) {
        int start = count;
        while (start > 0 && start > count - 4 && isByte(ids[start - 1])) {
            start--;
        }
        if (start == count) {
            return false;
        }
        byte[] bytes = new byte[count - start];
        for (int i = start; i < count; i++) {
            bytes[i - start] = (byte) vocab.byteValue[ids[i]];
        }
        return Utf8.endsWithIncompleteSequence(bytes, bytes.length);
    }

    private boolean isByte(int id) {
        return id >= 0 && id < vocab.size() && vocab.type[id] == PieceType.BYTE;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab.size() + ")");
        }
    }
}
