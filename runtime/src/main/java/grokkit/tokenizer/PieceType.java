package grokkit.tokenizer;

/** {@code ModelProto.SentencePiece.Type}, with the wire numbers of sentencepiece_model.proto. */
public enum PieceType {
    /** An ordinary vocabulary piece; BPE merges may produce it. */
    NORMAL(1),
    /** The unknown piece ({@code unk_id}); produced for text without a piece when byte fallback is off. */
    UNKNOWN(2),
    /** A control piece (BOS/EOS/PAD, ...): never produced from text, decodes to nothing. */
    CONTROL(3),
    /** A user-defined symbol: matched first in the text (longest match), never split or merged. */
    USER_DEFINED(4),
    /** A piece kept in the vocabulary but not to be emitted: merges through it are re-split. */
    UNUSED(5),
    /** A byte-fallback piece {@code <0xNN>}. */
    BYTE(6);

    final int wireValue;

    PieceType(int wireValue) {
        this.wireValue = wireValue;
    }

    static PieceType fromWire(int value) {
        for (PieceType t : values()) {
            if (t.wireValue == value) {
                return t;
            }
        }
        return null;
    }
}
