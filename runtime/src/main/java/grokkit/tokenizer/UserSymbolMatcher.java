package grokkit.tokenizer;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Longest-prefix match of the user-defined symbols at a position of a text (the library's
 * {@code PrefixMatcher}): both the normaliser and the BPE split use it, so a user symbol is
 * one unit that is never split, merged or normalised.
 */
final class UserSymbolMatcher {
    private final boolean[] firstChar = new boolean[65536];
    /** Trie transitions: (node << 16 | char) → child node; node 0 is the root. */
    private final Map<Long, Integer> edges = new HashMap<>();
    private boolean[] terminal = new boolean[16];
    private int nodes = 1;
    private final boolean empty;

    UserSymbolMatcher(Collection<String> symbols) {
        for (String s : symbols) {
            int node = 0;
            for (int i = 0; i < s.length(); i++) {
                long key = ((long) node << 16) | s.charAt(i);
                Integer child = edges.get(key);
                if (child == null) {
                    child = nodes++;
                    edges.put(key, child);
                    if (nodes > terminal.length) {
                        terminal = java.util.Arrays.copyOf(terminal, terminal.length * 2);
                    }
                }
                node = child;
            }
            terminal[node] = true;
            firstChar[s.charAt(0)] = true;
        }
        empty = symbols.isEmpty();
    }

    /** Length (in chars) of the longest user symbol that starts at {@code text[from]}, or 0. */
    int match(char[] text, int from, int to) {
        if (empty || !firstChar[text[from]]) {
            return 0;
        }
        int node = 0, best = 0;
        for (int i = from; i < to; i++) {
            Integer child = edges.get(((long) node << 16) | text[i]);
            if (child == null) {
                break;
            }
            node = child;
            if (terminal[node]) {
                best = i + 1 - from;
            }
        }
        return best;
    }
}
