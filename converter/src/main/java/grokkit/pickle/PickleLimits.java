package grokkit.pickle;

/**
 * Bounds that keep a hostile pickle from exhausting memory or time. A checkpoint pickle's
 * header is tiny (about 40 memo entries, stack depth under 20, nesting 4), so the defaults
 * leave ample room while refusing anything that only an attack would need.
 *
 * @param maxOpcodes     opcodes executed per file
 * @param maxStackDepth  values on the stack
 * @param maxMarks       open MARKs at once
 * @param maxNesting     depth of tuples/lists/dicts inside each other
 * @param maxMemo        memo entries
 * @param maxStringBytes length of one text string (names, dtype codes)
 * @param maxContainer   items in one tuple, list or dict
 */
public record PickleLimits(int maxOpcodes, int maxStackDepth, int maxMarks, int maxNesting,
                           int maxMemo, int maxStringBytes, int maxContainer) {
    public static final PickleLimits DEFAULT = new PickleLimits(100_000, 1_000, 64, 32, 10_000, 4_096, 1_000);
}
