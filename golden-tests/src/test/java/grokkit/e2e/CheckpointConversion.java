package grokkit.e2e;

import grokkit.checkpoint.ArrayDescriptor;
import grokkit.checkpoint.Checkpoint;
import grokkit.checkpoint.CheckpointTensor;
import grokkit.convert.ConversionSource;
import grokkit.convert.SourceArray;
import grokkit.convert.SourceTensor;
import grokkit.model.ModelConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test adapter: a {@code ckpt-0} checkpoint as the converter's {@link ConversionSource}, its
 * arrays mapped in place. (Stands in until the converter ships its own checkpoint source.)
 */
final class CheckpointConversion implements ConversionSource {
    private final Checkpoint ckpt;
    private final Arena arena = Arena.ofShared();
    private final List<SourceTensor> tensors = new ArrayList<>();

    CheckpointConversion(Path ckptDir, Path configJson) throws IOException {
        ModelConfig.Parsed given = configJson != null && Files.isRegularFile(configJson)
                ? ModelConfig.read(configJson, ModelConfig.grok1()) : null;
        ckpt = Checkpoint.open(ckptDir, given);
        for (CheckpointTensor t : ckpt.tensors())
            tensors.add(new SourceTensor(t.name(), array(t.weight()), t.scales() == null ? null : array(t.scales())));
    }

    private SourceArray array(ArrayDescriptor a) throws IOException {
        SourceArray.Type type = switch (a.dtype()) {
            case F32 -> SourceArray.Type.F32;
            case INT8 -> SourceArray.Type.INT8;
            case BF16 -> SourceArray.Type.BF16;
            default -> throw new IOException(a + ": unexpected dtype for conversion");
        };
        return new SourceArray(ckpt.map(a, arena), type, a.shape(), a.byteOrder());
    }

    @Override public ModelConfig config() { return ckpt.config(); }
    @Override public List<String> configNotes() { return ckpt.configNotes(); }
    @Override public List<SourceTensor> tensors() { return tensors; }

    @Override
    public void close() {
        arena.close();
        ckpt.close();
    }
}
