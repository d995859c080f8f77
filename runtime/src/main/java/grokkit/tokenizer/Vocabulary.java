package grokkit.tokenizer;

import grokkit.tokenizer.ModelProto.Piece;

import java.util.ArrayList;
import java.util.List;

/**
 * The pieces of a model indexed the way the library indexes them: NORMAL, USER_DEFINED and
 * UNUSED pieces can be produced by merges ({@link #mergeable}); UNKNOWN, CONTROL and BYTE pieces
 * are "reserved" and found only by an exact id lookup, which checks them first.
 */
final class Vocabulary {
    final String[] piece;
    final float[] score;
    final PieceType[] type;
    final PieceIndex mergeable;
    final PieceIndex reserved;
    final UserSymbolMatcher userSymbols;
    final int unkId;
    /** Id of {@code <0xNN>} for each byte (the unknown id where the model lacks it). */
    final int[] byteId = new int[256];
    /** Mergeable id of each BMP character as a one-char piece, else -1 (the split's fast path). */
    final int[] charId = new int[65536];
    /** The byte value of each BYTE piece, else -1. */
    final int[] byteValue;

    /** @throws IllegalArgumentException with the reason, when the piece table is inconsistent */
    Vocabulary(List<Piece> pieces) {
        int n = pieces.size();
        piece = new String[n];
        score = new float[n];
        type = new PieceType[n];
        byteValue = new int[n];
        mergeable = new PieceIndex(n);
        reserved = new PieceIndex(n);
        List<String> user = new ArrayList<>();
        int unk = -1;
        for (int id = 0; id < n; id++) {
            Piece p = pieces.get(id);
            piece[id] = p.piece();
            score[id] = p.score();
            type[id] = p.type();
            byteValue[id] = -1;
            boolean normal = p.type() == PieceType.NORMAL || p.type() == PieceType.USER_DEFINED || p.type() == PieceType.UNUSED;
            if (!(normal ? mergeable : reserved).putIfAbsent(p.piece(), id)) {
                throw new IllegalArgumentException("piece " + id + " '" + p.piece() + "' is already defined");
            }
            switch (p.type()) {
                case USER_DEFINED -> user.add(p.piece());
                case UNKNOWN -> {
                    if (unk >= 0) {
                        throw new IllegalArgumentException("more than one unknown piece (ids " + unk + " and " + id + ")");
                    }
                    unk = id;
                }
                case BYTE -> {
                    int b = parseBytePiece(p.piece());
                    if (b < 0) {
                        throw new IllegalArgumentException("byte piece " + id + " '" + p.piece() + "' is not of the form <0xNN>");
                    }
                    byteValue[id] = b;
                }
                default -> { }
            }
        }
        if (unk < 0) {
            throw new IllegalArgumentException("the model defines no unknown piece");
        }
        unkId = unk;
        userSymbols = new UserSymbolMatcher(user);
        for (int b = 0; b < 256; b++) {
            byteId[b] = pieceToId(bytePiece(b));
        }
        char[] one = new char[1];
        for (int c = 0; c < 65536; c++) {
            one[0] = (char) c;
            charId[c] = Character.isSurrogate((char) c) ? -1 : mergeable.get(one, 0, 1);
        }
    }

    int size() {
        return piece.length;
    }

    /** The library's {@code PieceToId}: reserved pieces first, then the others, else unknown. */
    int pieceToId(char[] text, int from, int to) {
        int id = reserved.get(text, from, to);
        if (id >= 0) {
            return id;
        }
        id = mergeable.get(text, from, to);
        return id >= 0 ? id : unkId;
    }

    int pieceToId(String s) {
        char[] c = s.toCharArray();
        return pieceToId(c, 0, c.length);
    }

    static String bytePiece(int b) {
        return String.format("<0x%02X>", b);
    }

    private static int parseBytePiece(String s) {
        if (s.length() != 6 || !s.startsWith("<0x") || s.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(s.charAt(3), 16), lo = Character.digit(s.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
}
