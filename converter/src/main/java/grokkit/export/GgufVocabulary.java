package grokkit.export;

import grokkit.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer as GGUF's {@code tokenizer.ggml.*} keys hold it for a SentencePiece
 * ("llama") vocabulary: pieces, scores, token types (llama.cpp's numbering, which is
 * SentencePiece's: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte) and the
 * special ids.
 *
 * @param placeholder true when no tokenizer was given and the pieces are made up
 * @param description where the vocabulary came from (printed)
 */
public record GgufVocabulary(List<String> tokens, float[] scores, int[] types, int bosId, int eosId, int unkId, int padId,
                             boolean placeholder, String description) {
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    public GgufVocabulary {
        tokens = List.copyOf(tokens);
        if (scores.length != tokens.size() || types.length != tokens.size())
            throw new IllegalArgumentException("tokens, scores and types differ in length");
    }

    public int size() {
        return tokens.size();
    }

    /**
     * A stand-in vocabulary of the model's size, for a model exported without its tokenizer:
     * the control pieces [PAD], [BOS], [EOS] at the configuration's ids (Grok-1's 0, 1, 2),
     * [UNK], the 256 byte pieces when there is room (llama.cpp looks up the newline byte), then
     * pieces {@code ▁t<i>}. Token ids keep their meaning; text does not.
     */
    public static GgufVocabulary placeholder(ModelConfig c) {
        int n = c.vocabSize();
        String[] tok = new String[n];
        int[] type = new int[n];
        float[] score = new float[n];
        int bos = 1 < n ? 1 : 0;
        tok[c.padToken()] = "[PAD]";
        type[c.padToken()] = CONTROL;
        if (tok[c.eosToken()] == null) {
            tok[c.eosToken()] = "[EOS]";
            type[c.eosToken()] = CONTROL;
        }
        if (tok[bos] == null) {
            tok[bos] = "[BOS]";
            type[bos] = CONTROL;
        }
        int unk = -1;
        for (int i = 0; i < n && unk < 0; i++) if (tok[i] == null) unk = i;
        if (unk >= 0) {
            tok[unk] = "[UNK]";
            type[unk] = UNKNOWN;
        }
        int next = 0;
        if (n >= 4 + 256) {
            for (int b = 0; b < 256; b++) {
                while (tok[next] != null) next++;
                tok[next] = String.format("<0x%02X>", b);
                type[next] = BYTE;
            }
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (tok[i] != null) continue;
            tok[i] = "\u2581t" + k;
            type[i] = NORMAL;
            score[i] = -k;
            k++;
        }
        List<String> list = new ArrayList<>(List.of(tok));
        return new GgufVocabulary(list, score, type, bos, c.eosToken(), Math.max(unk, 0), c.padToken(), true,
                "placeholder vocabulary of " + n + " pieces (no --tokenizer given): token ids are right, text is not");
    }
}
