package grokkit.convert;

import grokkit.checkpoint.ArrayDescriptor;
import grokkit.checkpoint.Checkpoint;
import grokkit.checkpoint.CheckpointTensor;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code ckpt-0} reader ({@link Checkpoint}) as a {@link ConversionSource}: every array is
 * mapped read-only for the duration of the conversion (no copy; pages are read when touched).
 */
public final class CheckpointSource implements ConversionSource {
    private final Checkpoint checkpoint;
    private final Arena arena = Arena.ofShared();
    private final List<SourceTensor> tensors = new ArrayList<>();

    private CheckpointSource(Checkpoint checkpoint) throws IOException {
        this.checkpoint = checkpoint;
        for (CheckpointTensor t : checkpoint.tensors())
            tensors.add(new SourceTensor(t.name(), array(t.weight()), t.scales() == null ? null : array(t.scales())));
    }

    /** Opens and validates {@code ckptDir} (with the user's configuration, or null to infer it). */
    public static CheckpointSource open(Path ckptDir, ModelConfig.Parsed givenConfigOrNull) throws IOException {
        return open(ckptDir, givenConfigOrNull, false, false);
    }

    /** As {@link #open(Path, ModelConfig.Parsed)}; see {@link Checkpoint#open(Path, ModelConfig.Parsed, boolean, boolean)}. */
    public static CheckpointSource open(Path ckptDir, ModelConfig.Parsed givenConfigOrNull, boolean refuseGuesses,
                                        boolean allowScaleLayout) throws IOException {
        Checkpoint c = Checkpoint.open(ckptDir, givenConfigOrNull, refuseGuesses, allowScaleLayout);
        CheckpointSource s = null;
        try {
            s = new CheckpointSource(c);
            return s;
        } finally {
            if (s == null) c.close();
        }
    }

    private SourceArray array(ArrayDescriptor a) throws IOException {
        if (a.fortranOrder()) throw new BadInputException(a.file() + ": Fortran-order arrays are not supported");
        SourceArray.Type type = switch (a.dtype()) {
            case F32 -> SourceArray.Type.F32;
            case INT8 -> SourceArray.Type.INT8;
            case BF16 -> SourceArray.Type.BF16;
            default -> throw new BadInputException(a.file() + ": unexpected dtype " + a.dtype() + " (conversion reads float32, int8, bfloat16)");
        };
        return new SourceArray(checkpoint.map(a, arena), type, a.shape(), a.byteOrder(), a.file(), a.offset());
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    @Override
    public ModelConfig config() {
        return checkpoint.config();
    }

    @Override
    public boolean allowsScaleLayout() {
        return checkpoint.allowsScaleLayout();
    }

    @Override
    public List<String> configNotes() {
        return checkpoint.configNotes();
    }

    @Override
    public List<SourceTensor> tensors() {
        return tensors;
    }

    @Override
    public void close() {
        arena.close();
        checkpoint.close();
    }

}
