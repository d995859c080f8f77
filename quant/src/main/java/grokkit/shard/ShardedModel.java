package grokkit.shard;

import grokkit.errors.BadInputException;
import grokkit.io.MappedFiles;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.EncodingSpec;
import grokkit.quant.WeightMatrix;
import grokkit.quant.kernels.Kernels;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A converted model directory, opened for reading: every shard is mapped read-only (no copy
 * into the heap; the OS pages weights in on demand) and every tensor is served as a
 * {@link WeightMatrix} over its mapped regions ({@link Kernels}). Closing it unmaps everything.
 */
public final class ShardedModel implements ModelWeights {
    private final Path dir;
    private final Manifest manifest;
    private final ModelConfig config;
    private final Arena arena = Arena.ofShared();
    private final Map<String, MemorySegment> shards = new HashMap<>();
    private final Map<String, TensorRecord> records = new HashMap<>();
    private final Map<String, WeightMatrix> matrices = new ConcurrentHashMap<>();
    private final List<Path> mappedFiles = new ArrayList<>();

    private ShardedModel(Path dir, Manifest manifest) throws BadInputException {
        this.dir = dir;
        this.manifest = manifest;
        this.config = manifest.modelConfig();
    }

    /** Opens {@code dir}; a missing or malformed manifest or shard is a {@link BadInputException}. */
    public static ShardedModel open(Path dir) throws IOException {
        return open(dir, Manifest.read(dir));
    }

    /** Opens {@code dir} with a manifest already read and validated by {@link ManifestReader}. */
    public static ShardedModel open(Path dir, Manifest manifest) throws IOException {
        ShardedModel m = new ShardedModel(dir, manifest);
        try {
            m.mapShards();
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    private void mapShards() throws IOException {
        for (ShardInfo s : manifest.shards()) {
            Path file;
            try {
                file = ModelFiles.inside(dir, s.file(), "shard");
            } catch (InvalidManifestException e) {
                throw e;
            } catch (BadInputException e) {
                throw new BadInputException(e.getMessage() + " (a shard listed in the manifest; run grok check)", e);
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                if (ch.size() != s.bytes())
                    throw new BadInputException(file + ": " + ch.size() + " bytes, manifest says " + s.bytes() + " (run grok check)");
                shards.put(s.file(), ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
                MappedFiles.mapped(file, s.bytes());
                mappedFiles.add(file);
            }
        }
        for (TensorRecord t : manifest.tensors()) {
            MemorySegment seg = shards.get(t.shard());
            if (seg == null) throw new BadInputException(dir + ": tensor " + t.label() + " names unknown shard " + t.shard());
            check(t, t.weights(), seg);
            if (t.scales() != null) check(t, t.scales(), seg);
            records.put(key(t.name(), t.expert()), t);
        }
    }

    private void check(TensorRecord t, Region r, MemorySegment seg) throws BadInputException {
        if (r.offset() < 0 || r.length() < 0 || r.end() > seg.byteSize() || r.offset() % Manifest.ALIGNMENT != 0)
            throw new BadInputException(dir.resolve(t.shard()) + ": tensor " + t.label() + " has a region outside its shard or misaligned");
    }

    private static String key(String name, Integer expert) {
        return expert == null ? name : name + "#" + expert;
    }

    public Manifest manifest() {
        return manifest;
    }

    public Path directory() {
        return dir;
    }

    public List<TensorRecord> tensors() {
        return manifest.tensors();
    }

    /** The record of {@code name} (expert null for non-MoE tensors). */
    public TensorRecord record(String name, Integer expert) {
        TensorRecord t = records.get(key(name, expert));
        if (t == null) throw new IllegalArgumentException(dir + ": no tensor " + key(name, expert));
        return t;
    }

    /** The mapped weights region of a record. */
    public MemorySegment weights(TensorRecord t) {
        return shards.get(t.shard()).asSlice(t.weights().offset(), t.weights().length());
    }

    /** The mapped scales region of a record, or {@link MemorySegment#NULL} (empty) when it has none. */
    public MemorySegment scales(TensorRecord t) {
        return t.scales() == null ? MemorySegment.NULL : shards.get(t.shard()).asSlice(t.scales().offset(), t.scales().length());
    }

    /** A matrix over a record's regions, served by the Vector API kernels (in place, no copy). */
    public WeightMatrix open(TensorRecord t) {
        EncodingSpec spec = t.spec();
        return Kernels.open(spec, weights(t), scales(t), t.in(), t.out());
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public WeightMatrix embeddings() {
        return matrix(ParamNames.EMBEDDINGS);
    }

    @Override
    public float[] vector(String name) {
        TensorRecord t = record(name, null);
        if (t.spec().encoding() != grokkit.quant.Encoding.F32) throw new IllegalArgumentException(name + " is not stored as f32");
        return weights(t).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    @Override
    public WeightMatrix matrix(String name) {
        return matrices.computeIfAbsent(key(name, null), k -> open(record(name, null)));
    }

    @Override
    public WeightMatrix expert(String name, int expert) {
        return matrices.computeIfAbsent(key(name, expert), k -> open(record(name, expert)));
    }

    @Override
    public void close() {
        matrices.clear();
        if (arena.scope().isAlive()) arena.close();
        for (Path f : mappedFiles) MappedFiles.unmapped(f);
        mappedFiles.clear();
    }
}
