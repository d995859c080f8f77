package grokkit.shard;

import grokkit.errors.BadInputException;
import grokkit.quant.EncodingSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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

    /** Checks {@code dir}; an unreadable or invalid manifest is a {@link BadInputException}. */
    public static Result check(Path dir) throws BadInputException {
        Manifest m = Manifest.read(dir);
        List<String> problems = new ArrayList<>();
        Set<String> shardNames = new HashSet<>();
        long bytes = 0;
        for (ShardInfo s : m.shards()) {
            shardNames.add(s.file());
            bytes += s.bytes();
        }
        for (TensorRecord t : m.tensors()) {
            if (!shardNames.contains(t.shard())) problems.add("manifest: " + t.label() + " is in unlisted shard " + t.shard());
            EncodingSpec spec;
            try {
                spec = t.spec();
                spec.checkShape(t.in(), t.out());
                long w = spec.weightBytes(t.in(), t.out()), sc = spec.scaleBytes(t.in(), t.out());
                if (t.weights().length() != w) problems.add(t.shard() + ": " + t.label() + " weights region is " + t.weights().length() + " bytes, " + spec.name() + " needs " + w);
                long have = t.scales() == null ? 0 : t.scales().length();
                if (have != sc) problems.add(t.shard() + ": " + t.label() + " scales region is " + have + " bytes, " + spec.name() + " needs " + sc);
            } catch (IllegalArgumentException e) {
                problems.add("manifest: " + t.label() + ": " + e.getMessage());
            }
        }
        for (ShardInfo s : m.shards()) {
            List<TensorRecord> in = m.tensors().stream().filter(t -> t.shard().equals(s.file())).toList();
            problems.addAll(ShardVerifier.verify(dir.resolve(s.file()), s.bytes(), in));
        }
        return new Result(problems, m.shards().size(), m.tensors().size(), bytes);
    }
}
