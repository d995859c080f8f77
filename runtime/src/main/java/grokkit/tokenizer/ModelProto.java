package grokkit.tokenizer;

import grokkit.errors.BadInputException;
import grokkit.tokenizer.ProtoWireReader.MalformedProtoException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a SentencePiece {@code tokenizer.model} (a serialized {@code ModelProto}) that
 * encoding and decoding need, read from the protobuf wire format by {@link ProtoWireReader}.
 * Field numbers and proto2 defaults follow sentencepiece_model.proto; unknown fields are skipped.
 */
public record ModelProto(List<Piece> pieces, TrainerSpec trainer, NormalizerSpec normalizer, NormalizerSpec denormalizer) {

    /** One vocabulary entry; the id is its index in {@link #pieces()}. */
    public record Piece(String piece, float score, PieceType type) {}

    /** {@code TrainerSpec}: model type and the special ids. */
    public record TrainerSpec(int modelType, int vocabSize, boolean byteFallback, boolean treatWhitespaceAsSuffix,
                              int unkId, int bosId, int eosId, int padId, String unkSurface) {
        public static final int UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4;
    }

    /**
     * {@code NormalizerSpec}. A non-empty precompiled charsmap means a non-identity normaliser.
     * The model's {@code denormalizer} (applied to decoded text) is null when absent.
     */
    public record NormalizerSpec(String name, int precompiledCharsmapBytes, boolean addDummyPrefix,
                                 boolean removeExtraWhitespaces, boolean escapeWhitespaces) {}

    /** Reads and parses a model file; a missing or malformed file throws a message naming it. */
    public static ModelProto read(Path file) throws BadInputException {
        // Only a regular file (a FIFO would block the read), at most 1 GiB (Grok-1's is 2.2 MB).
        byte[] bytes = grokkit.io.InputFiles.readAll(file, "tokenizer file", 1L << 30);
        try {
            return parse(bytes);
        } catch (MalformedProtoException e) {
            throw new BadInputException("tokenizer file " + file + " is not a valid SentencePiece model: " + e.getMessage(), e);
        }
    }

    static ModelProto parse(byte[] bytes) throws MalformedProtoException {
        ProtoWireReader r = new ProtoWireReader(bytes);
        List<Piece> pieces = new ArrayList<>();
        TrainerSpec trainer = parseTrainer(null);
        NormalizerSpec normalizer = parseNormalizer(null);
        NormalizerSpec denormalizer = null;
        while (r.hasMore()) {
            int field = r.nextField();
            switch (field) {
                case 1 -> pieces.add(parsePiece(r.readMessage(), pieces.size()));
                case 2 -> trainer = parseTrainer(r.readMessage());
                case 3 -> normalizer = parseNormalizer(r.readMessage());
                case 5 -> denormalizer = parseNormalizer(r.readMessage());
                default -> r.skip(); // self_test_data, extensions
            }
        }
        if (pieces.isEmpty()) {
            throw new MalformedProtoException("the model has no pieces");
        }
        return new ModelProto(List.copyOf(pieces), trainer, normalizer, denormalizer);
    }

    private static Piece parsePiece(ProtoWireReader r, int index) throws MalformedProtoException {
        String piece = null;
        float score = 0f;
        PieceType type = PieceType.NORMAL;
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> piece = r.readString();
                case 2 -> score = r.readFloat();
                case 3 -> {
                    int v = r.readInt32();
                    type = PieceType.fromWire(v);
                    if (type == null) {
                        throw new MalformedProtoException("piece " + index + " has unknown type " + v);
                    }
                }
                default -> r.skip();
            }
        }
        if (piece == null || piece.isEmpty()) {
            throw new MalformedProtoException("piece " + index + " has an empty piece string");
        }
        return new Piece(piece, score, type);
    }

    private static TrainerSpec parseTrainer(ProtoWireReader r) throws MalformedProtoException {
        int modelType = TrainerSpec.UNIGRAM, vocabSize = 8000, unkId = 0, bosId = 1, eosId = 2, padId = -1;
        boolean byteFallback = false, suffix = false;
        String unkSurface = " \u2047 ";
        while (r != null && r.hasMore()) {
            switch (r.nextField()) {
                case 3 -> modelType = r.readInt32();
                case 4 -> vocabSize = r.readInt32();
                case 24 -> suffix = r.readBool();
                case 35 -> byteFallback = r.readBool();
                case 40 -> unkId = r.readInt32();
                case 41 -> bosId = r.readInt32();
                case 42 -> eosId = r.readInt32();
                case 43 -> padId = r.readInt32();
                case 44 -> unkSurface = r.readString();
                default -> r.skip();
            }
        }
        return new TrainerSpec(modelType, vocabSize, byteFallback, suffix, unkId, bosId, eosId, padId, unkSurface);
    }

    private static NormalizerSpec parseNormalizer(ProtoWireReader r) throws MalformedProtoException {
        String name = "";
        int charsmap = 0;
        boolean dummy = true, removeExtra = true, escape = true;
        while (r != null && r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> name = r.readString();
                case 2 -> charsmap = r.readBytes().length;
                case 3 -> dummy = r.readBool();
                case 4 -> removeExtra = r.readBool();
                case 5 -> escape = r.readBool();
                default -> r.skip();
            }
        }
        return new NormalizerSpec(name, charsmap, dummy, removeExtra, escape);
    }
}
