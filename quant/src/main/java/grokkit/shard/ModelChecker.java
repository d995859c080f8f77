package grokkit.shard;

import grokkit.errors.BadInputException;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code grok check}: re-reads every shard of a model directory and verifies it against the
 * manifest (lengths, alignment, CRC32C, zero padding, encodings' region sizes). Every problem
 * names the file and the tensor.
 */
public final class ModelChecker {
    private ModelChecker() {}

    /** The outcome: problems found (empty when intact) and what was checked. */
    public record Result(List<String> problems, int shards, int tensors, long bytes) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /**
     * Checks {@code dir}: the manifest is validated completely first ({@link ManifestReader}; a
     * manifest it refuses is a {@link BadInputException}, exit 2), then every shard is re-read
     * against it (length, CRC32C, padding: problems, exit 1).
     */
    public static Result check(Path dir) throws BadInputException {
        return check(dir, (done, total) -> { });
    }

    /** Progress of a check: {@code done} of {@code total} region bytes checksummed so far. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    /** As {@link #check(Path)}, reporting the bytes checksummed as it goes. */
    public static Result check(Path dir, Progress progress) throws BadInputException {
        Manifest m = Manifest.read(dir);
        List<String> problems = new ArrayList<>();
        long bytes = 0;
        for (ShardInfo s : m.shards()) bytes += s.bytes();
        long regionBytes = 0;
        for (TensorRecord t : m.tensors()) regionBytes += t.weights().length() + (t.scales() == null ? 0 : t.scales().length());
        final long total = regionBytes;
        long[] done = {0};
        java.util.function.LongConsumer read = n -> progress.update(done[0] += n, total);
        for (ShardInfo s : m.shards()) {
            Path file = dir.resolve(s.file());
            // A shard that exists must lie inside the directory (a symbolic link out is refused);
            // a missing one is reported with the tensors it holds.
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && Files.isRegularFile(file)) file = ModelFiles.inside(dir, s.file(), "shard");
            List<TensorRecord> in = m.tensors().stream().filter(t -> t.shard().equals(s.file())).toList();
            problems.addAll(ShardVerifier.verify(file, s.bytes(), in, read));
        }
        return new Result(problems, m.shards().size(), m.tensors().size(), bytes);
    }
}
