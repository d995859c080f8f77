package grokkit.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The files currently memory-mapped for reading, with the length each was mapped at. When a
 * mapped file shrinks (truncated or rewritten by someone else), touching a page past its new
 * end raises SIGBUS, which the JVM turns into an {@link InternalError} ("a fault occurred in an
 * unsafe memory access operation") that names nothing. The CLI's fault handler asks this
 * registry which file shrank, so the user is told "FILE changed size while in use".
 */
public final class MappedFiles {
    /** Per file: the largest mapped end and how many mappings are open (two models may map one file). */
    private record Entry(long end, int count) {}

    private static final Map<Path, Entry> MAPPED = new ConcurrentHashMap<>();

    private MappedFiles() {}

    /** Records that {@code file} is mapped up to byte {@code end} (the largest end is kept). */
    public static void mapped(Path file, long end) {
        MAPPED.merge(file.toAbsolutePath().normalize(), new Entry(end, 1),
                (a, b) -> new Entry(Math.max(a.end, b.end), a.count + b.count));
    }

    /**
     * {@code file} is no longer mapped. The entry stays (with no open mapping): the fault that a
     * shrunk file causes unwinds through the code that closes the model before the handler asks.
     * Closed entries are dropped only when many have accumulated.
     */
    public static void unmapped(Path file) {
        MAPPED.computeIfPresent(file.toAbsolutePath().normalize(), (k, e) -> new Entry(e.end, Math.max(0, e.count - 1)));
        if (MAPPED.size() > MAX_ENTRIES) MAPPED.values().removeIf(e -> e.count == 0);
    }

    private static final int MAX_ENTRIES = 4096;

    /** A mapped file that is now shorter than its mapping (or gone). */
    public record Shrunk(Path file, long mappedBytes, long nowBytes) {
        public String describe() {
            return file + " changed size while in use (was " + mappedBytes + " bytes, now "
                    + (nowBytes < 0 ? "deleted or unreadable" : nowBytes) + ")";
        }
    }

    /** Every registered file whose current size is below its mapped length. */
    public static List<Shrunk> shrunk() {
        List<Shrunk> out = new ArrayList<>();
        for (Map.Entry<Path, Entry> e : MAPPED.entrySet()) {
            long now;
            try {
                now = Files.size(e.getKey());
            } catch (IOException ex) {
                now = -1;
            }
            long end = e.getValue().end;
            if (now < end) out.add(new Shrunk(e.getKey(), end, now));
        }
        return out;
    }

    /** The files mapped now (for an out-of-memory message: what was being read). */
    public static List<Path> files() {
        return MAPPED.entrySet().stream().filter(e -> e.getValue().count > 0).map(Map.Entry::getKey).toList();
    }
}
