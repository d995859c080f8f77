package grokkit.tokenizer;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;

/**
 * A minimal reader of the protobuf wire format: enough to walk the fields of a SentencePiece
 * {@code ModelProto} without a protobuf library. Every read is bounds-checked; a malformed
 * buffer throws {@link MalformedProtoException} (never an index or arithmetic exception), so the
 * caller can name the file in its error message.
 */
final class ProtoWireReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int START_GROUP = 3;
    static final int END_GROUP = 4;
    static final int FIXED32 = 5;

    /** The wire format is malformed (truncated, bad tag, bad length, bad UTF-8). */
    static final class MalformedProtoException extends Exception {
        MalformedProtoException(String message) {
            super(message);
        }
    }

    private final byte[] buf;
    private int pos;
    private final int end;
    private int lastTag;

    ProtoWireReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    private ProtoWireReader(byte[] buf, int from, int to) {
        this.buf = buf;
        this.pos = from;
        this.end = to;
    }

    boolean hasMore() {
        return pos < end;
    }

    int position() {
        return pos;
    }

    /** Reads the next tag; returns its field number (the wire type is {@link #wireType()}). */
    int nextField() throws MalformedProtoException {
        long tag = readVarint();
        if (tag <= 0 || tag > 0xFFFFFFFFL) {
            throw new MalformedProtoException("invalid field tag " + tag + " at byte " + pos);
        }
        lastTag = (int) tag;
        int field = lastTag >>> 3;
        if (field == 0) {
            throw new MalformedProtoException("field number 0 at byte " + pos);
        }
        return field;
    }

    int wireType() {
        return lastTag & 7;
    }

    long readVarint() throws MalformedProtoException {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw new MalformedProtoException("truncated varint at byte " + pos);
            }
            byte b = buf[pos++];
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw new MalformedProtoException("varint longer than 10 bytes at byte " + pos);
    }

    /** An int32 field: negative values are written as 10-byte varints (sign-extended). */
    int readInt32() throws MalformedProtoException {
        expect(VARINT);
        return (int) readVarint();
    }

    boolean readBool() throws MalformedProtoException {
        expect(VARINT);
        return readVarint() != 0;
    }

    float readFloat() throws MalformedProtoException {
        expect(FIXED32);
        if (end - pos < 4) {
            throw new MalformedProtoException("truncated fixed32 at byte " + pos);
        }
        int bits = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16 | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    String readString() throws MalformedProtoException {
        int len = readLength();
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, pos, len)).toString();
            pos += len;
            return s;
        } catch (CharacterCodingException e) {
            throw new MalformedProtoException("string field is not valid UTF-8 at byte " + pos);
        }
    }

    byte[] readBytes() throws MalformedProtoException {
        int len = readLength();
        byte[] out = new byte[len];
        System.arraycopy(buf, pos, out, 0, len);
        pos += len;
        return out;
    }

    /** A reader over an embedded message; this reader skips past it. */
    ProtoWireReader readMessage() throws MalformedProtoException {
        int len = readLength();
        ProtoWireReader sub = new ProtoWireReader(buf, pos, pos + len);
        pos += len;
        return sub;
    }

    /** Skips the value of the field whose tag was just read (unknown fields are allowed). */
    void skip() throws MalformedProtoException {
        switch (wireType()) {
            case VARINT -> readVarint();
            case FIXED64 -> advance(8);
            case LENGTH_DELIMITED -> advance(readLength());
            case FIXED32 -> advance(4);
            default -> throw new MalformedProtoException("unsupported wire type " + wireType() + " at byte " + pos);
        }
    }

    private int readLength() throws MalformedProtoException {
        expect(LENGTH_DELIMITED);
        long len = readVarint();
        if (len < 0 || len > end - pos) {
            throw new MalformedProtoException("length " + len + " runs past the end of the message at byte " + pos);
        }
        return (int) len;
    }

    private void advance(int n) throws MalformedProtoException {
        if (n > end - pos) {
            throw new MalformedProtoException("field runs past the end of the message at byte " + pos);
        }
        pos += n;
    }

    private void expect(int type) throws MalformedProtoException {
        if (wireType() != type) {
            throw new MalformedProtoException("field " + (lastTag >>> 3) + " has wire type " + wireType()
                    + ", expected " + type + " (before byte " + pos + ")");
        }
    }
}
