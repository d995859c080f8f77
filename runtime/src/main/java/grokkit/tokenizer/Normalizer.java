package grokkit.tokenizer;

import grokkit.tokenizer.ModelProto.NormalizerSpec;

import java.util.Arrays;

/**
 * The SentencePiece normaliser for models without a character map (the "identity" rule set that
 * Grok-1 uses): optional removal of extra whitespace, the dummy-prefix {@code ▁}, and escaping of
 * ' ' as {@code ▁} (U+2581). User-defined symbols are matched first and copied as one unit, as the
 * library does, which matters only for whitespace removal. A lone UTF-16 surrogate (which UTF-8
 * cannot carry) becomes U+FFFD, as the library does for a malformed byte.
 */
final class Normalizer {
    static final char SPACE_SYMBOL = '\u2581';

    private final NormalizerSpec spec;
    private final boolean whitespaceAsSuffix;
    private final UserSymbolMatcher userSymbols;

    Normalizer(NormalizerSpec spec, boolean whitespaceAsSuffix, UserSymbolMatcher userSymbols) {
        this.spec = spec;
        this.whitespaceAsSuffix = whitespaceAsSuffix;
        this.userSymbols = userSymbols;
    }

    /** The normalised text (empty for an empty input or, with whitespace removal, an all-space one). */
    char[] normalize(String input) {
        char[] in = input.toCharArray();
        int n = in.length;
        if (n == 0) {
            return new char[0];
        }
        int pos = 0;
        boolean removeExtra = spec.removeExtraWhitespaces();
        if (removeExtra) {
            while (pos < n && unitLength(in, pos, n) == 1 && in[pos] == ' ') {
                pos++;
            }
            if (pos == n) {
                return new char[0];
            }
        }
        char ws = spec.escapeWhitespaces() ? SPACE_SYMBOL : ' ';
        char[] out = new char[n - pos + 2];
        int o = 0;
        if (!whitespaceAsSuffix && spec.addDummyPrefix()) {
            out[o++] = ws;
        }
        boolean prevSpace = removeExtra;
        while (pos < n) {
            int len = unitLength(in, pos, n);
            int s = pos, e = pos + len;
            if (prevSpace) {
                while (s < e && in[s] == ' ') {
                    s++;
                }
            }
            if (s < e) {
                for (int i = s; i < e; i++) {
                    char c = in[i];
                    if (c == ' ') {
                        c = ws;
                    } else if (Character.isSurrogate(c)) {
                        if (Character.isHighSurrogate(c) && i + 1 < e && Character.isLowSurrogate(in[i + 1])) {
                            out[o++] = c;
                            c = in[++i];
                        } else {
                            c = '\uFFFD';
                        }
                    }
                    out[o++] = c;
                }
                prevSpace = in[e - 1] == ' ';
            }
            if (!removeExtra) {
                prevSpace = false;
            }
            pos += len;
        }
        if (removeExtra) {
            while (o > 0 && out[o - 1] == ws) {
                o--;
            }
        }
        if (whitespaceAsSuffix && spec.addDummyPrefix()) {
            out[o++] = ws;
        }
        return o == out.length ? out : Arrays.copyOf(out, o);
    }

    /** A user symbol, else one code point (a valid surrogate pair is one unit). */
    private int unitLength(char[] in, int pos, int n) {
        int m = userSymbols.match(in, pos, n);
        if (m > 0) {
            return m;
        }
        return Character.isHighSurrogate(in[pos]) && pos + 1 < n && Character.isLowSurrogate(in[pos + 1]) ? 2 : 1;
    }
}
