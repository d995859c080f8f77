package grokkit.tokenizer;

/** UTF-8 decoding with the SentencePiece library's error rule. */
final class Utf8 {
    private Utf8() {}

    /**
     * Appends {@code bytes[0, count)} decoded as UTF-8. Like the library's {@code DecodeUTF8}, a
     * byte that does not start a complete, shortest-form, non-surrogate sequence becomes one U+FFFD
     * and decoding resumes at the next byte (so a truncated 3-byte sequence gives two U+FFFD).
     */
    static void decodeLikeSentencePiece(byte[] bytes, int count, StringBuilder out) {
        int i = 0;
        while (i < count) {
            int b0 = bytes[i] & 0xFF;
            int left = count - i;
            int cp = -1, len = 1;
            if (b0 < 0x80) {
                cp = b0;
            } else if (left >= 2 && (b0 & 0xE0) == 0xC0) {
                int c = ((b0 & 0x1F) << 6) | (bytes[i + 1] & 0x3F);
                if (trail(bytes[i + 1]) && c >= 0x80) {
                    cp = c;
                    len = 2;
                }
            } else if (left >= 3 && (b0 & 0xF0) == 0xE0) {
                int c = ((b0 & 0x0F) << 12) | ((bytes[i + 1] & 0x3F) << 6) | (bytes[i + 2] & 0x3F);
                if (trail(bytes[i + 1]) && trail(bytes[i + 2]) && c >= 0x800 && validCodePoint(c)) {
                    cp = c;
                    len = 3;
                }
            } else if (left >= 4 && (b0 & 0xF8) == 0xF0) {
                int c = ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3F) << 12) | ((bytes[i + 2] & 0x3F) << 6) | (bytes[i + 3] & 0x3F);
                if (trail(bytes[i + 1]) && trail(bytes[i + 2]) && trail(bytes[i + 3]) && c >= 0x10000 && validCodePoint(c)) {
                    cp = c;
                    len = 4;
                }
            }
            out.appendCodePoint(cp < 0 ? 0xFFFD : cp);
            i += len;
        }
    }

    private static boolean trail(byte b) {
        return (b & 0xC0) == 0x80;
    }

    private static boolean validCodePoint(int c) {
        return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF);
    }

    /**
     * True when {@code bytes[0, count)} ends in the first bytes of a multi-byte sequence that more
     * bytes could still complete (a streaming decoder waits instead of printing U+FFFD).
     */
    static boolean endsWithIncompleteSequence(byte[] bytes, int count) {
        for (int back = 1; back <= 3 && back <= count; back++) {
            int b = bytes[count - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // a trail byte: look further back for the lead
            }
            int need = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return need > back;
        }
        return false;
    }
}
