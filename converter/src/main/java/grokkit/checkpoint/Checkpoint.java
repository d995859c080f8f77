package grokkit.checkpoint;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * xAI's {@code ckpt-0} checkpoint, read safely and in place: every file's pickle header is
 * interpreted by the restricted {@link grokkit.pickle.PickleMachine}, each file gets its
 * parameter name from the sorted-key file order, and every tensor is checked against the model
 * configuration (given, inferred from shapes, or Grok-1's). Arrays are described, not loaded;
 * {@link #map} gives their bytes as read-only mapped segments.
 */
public final class Checkpoint implements AutoCloseable {
    private final Path dir;
    private final ModelConfig config;
    private final List<String> configNotes;
    private final List<CheckpointTensor> tensors;
    private final Map<String, CheckpointTensor> byName;

    private Checkpoint(Path dir, ModelConfig config, List<String> notes, List<CheckpointTensor> tensors) {
        this.dir = dir;
        this.config = config;
        this.configNotes = List.copyOf(notes);
        this.tensors = List.copyOf(tensors);
        Map<String, CheckpointTensor> m = new LinkedHashMap<>();
        for (CheckpointTensor t : tensors) m.put(t.name(), t);
        this.byName = Collections.unmodifiableMap(m);
    }

    /**
     * Opens and validates a checkpoint directory ({@code ckpt-0}, or a directory that contains
     * one). {@code givenConfigOrNull}: the user's configuration (its given fields win over the
     * shapes, which are then checked against them); null to infer what the shapes determine and
     * default the rest to Grok-1.
     *
     * @throws BadInputException naming the file and the problem for a missing, extra, hostile,
     *                           truncated or mis-shaped file
     */
    public static Checkpoint open(Path ckptDir, ModelConfig.Parsed givenConfigOrNull) throws IOException {
        return open(ckptDir, givenConfigOrNull, false, false);
    }

    /**
     * As {@link #open(Path, ModelConfig.Parsed)}. With {@code refuseGuesses} and no given
     * configuration, a checkpoint whose shapes are not exactly Grok-1's is refused: its key_size
     * split, multipliers and the other fields the shapes do not determine would be Grok-1's values
     * guessed onto another model, which changes its numerics (the CLI's default).
     * {@code allowScaleLayout} accepts scale layouts other than the release's.
     */
    public static Checkpoint open(Path ckptDir, ModelConfig.Parsed givenConfigOrNull, boolean refuseGuesses,
                                  boolean allowScaleLayout) throws IOException {
        List<String> notes = new ArrayList<>();
        Path dir = CheckpointLayout.resolveDir(ckptDir, notes);
        TreeMap<Integer, Path> files = CheckpointLayout.scan(dir, notes);
        Integer givenLayers = givenConfigOrNull != null && givenConfigOrNull.givenFields().contains("num_layers")
                ? givenConfigOrNull.config().numLayers() : null;
        int layers = CheckpointLayout.checkFiles(dir, files, givenLayers, notes);
        List<String> names = ParamNames.checkpointOrder(layers);

        Map<String, TensorFile> byName = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) byName.put(names.get(i), TensorFileReader.read(i, files.get(i)));

        ModelConfig config = ConfigInference.infer(dir, givenConfigOrNull, layers, byName, notes);
        if (refuseGuesses && givenConfigOrNull == null && !config.equals(ModelConfig.grok1()))
            throw new BadInputException(dir + ": no model configuration, and the shapes are not Grok-1's ("
                    + ConfigInference.shapeSummary(config) + "): key_size, head counts and multipliers cannot be read from shapes. "
                    + "Put the model's config.json inside or beside ckpt-0, pass --model-config FILE, "
                    + "or --infer-config to accept values inferred from shapes with Grok-1's for the rest");
        List<CheckpointTensor> tensors = new ArrayList<>(names.size());
        for (Map.Entry<String, TensorFile> e : byName.entrySet())
            tensors.add(CheckpointValidator.validate(e.getValue(), e.getKey(), config, allowScaleLayout));
        Checkpoint c = new Checkpoint(dir, config, notes, tensors);
        c.allowScaleLayout = allowScaleLayout;
        return c;
    }

    private boolean allowScaleLayout;

    /** Whether scale layouts other than the release's were accepted ({@code --allow-scale-layout}). */
    public boolean allowsScaleLayout() {
        return allowScaleLayout;
    }

    /** The directory holding the tensor files. */
    public Path directory() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    /** What was inferred from shapes or defaulted, and anything else worth knowing, human-readable. */
    public List<String> configNotes() {
        return configNotes;
    }

    /** Every tensor, in file index order. */
    public List<CheckpointTensor> tensors() {
        return tensors;
    }

    /** The tensor with this parameter name; null if there is none. */
    public CheckpointTensor tensor(String name) {
        return byName.get(name);
    }

    /**
     * A read-only mapped view of exactly the array's bytes, valid while {@code arena} is open.
     * Nothing is copied; pages are read from disk when touched.
     */
    public MemorySegment map(ArrayDescriptor a, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(a.file(), StandardOpenOption.READ)) {
            if (ch.size() < a.offset() + a.byteLength())
                throw new BadInputException(a.file() + ": the file is now " + ch.size() + " bytes, too short for the array at "
                        + a.offset() + "+" + a.byteLength() + " (changed since it was opened?)");
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, a.offset(), a.byteLength(), arena);
            // Named for the CLI's fault handler: a checkpoint file truncated during convert.
            grokkit.io.MappedFiles.mapped(a.file(), a.offset() + a.byteLength());
            return seg;
        }
    }

    /** Holds no open resources (mappings belong to the callers' arenas); kept for future caching. */
    @Override
    public void close() {}
}
