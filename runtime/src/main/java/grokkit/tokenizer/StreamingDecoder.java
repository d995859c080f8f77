package grokkit.tokenizer;

import java.util.Arrays;

/**
 * Turns generated ids into text as they arrive, for streaming output. The text of a token
 * depends on its neighbours (the dummy-prefix ▁ is dropped only at the very start; byte pieces
 * form a character only together), so it decodes the whole sequence — the context first, then
 * the generated ids — and returns what was added since the last call. While the sequence ends
 * in an incomplete UTF-8 byte run it returns nothing, so no transient U+FFFD is ever printed.
 *
 * <p>The context (the prompt) is decoded with the generated ids, so the first generated word
 * keeps its leading space ("The quick" + "▁brown" → " brown").
 */
public final class StreamingDecoder {
    private final SentencePieceTokenizer tokenizer;
    private int[] ids;
    private int count;
    private final int contextCount;
    private int emitted; // chars of the decoded text already returned (including the context's)

    public StreamingDecoder(SentencePieceTokenizer tokenizer, int[] context) {
        this.tokenizer = tokenizer;
        this.ids = Arrays.copyOf(context, Math.max(16, context.length * 2));
        this.count = context.length;
        this.contextCount = context.length;
        this.emitted = tokenizer.decode(context).length();
    }

    /** Adds one generated id; returns the text that became final (may be empty). */
    public String push(int id) {
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, count * 2);
        }
        ids[count++] = id;
        if (tokenizer.endsWithIncompleteUtf8(ids, count)) {
            return "";
        }
        return takeNew();
    }

    /** Returns whatever is left (an incomplete byte run becomes U+FFFD, as the library decodes it). */
    public String flush() {
        return takeNew();
    }

    /** The generated ids so far (without the context). */
    public int[] generated() {
        return Arrays.copyOfRange(ids, contextCount, count);
    }

    private String takeNew() {
        String text = tokenizer.decode(Arrays.copyOf(ids, count));
        String out = emitted <= text.length() ? text.substring(emitted) : "";
        emitted = Math.max(emitted, text.length());
        return out;
    }
}
