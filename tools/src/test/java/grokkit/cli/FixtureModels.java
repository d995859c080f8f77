package grokkit.cli;

import grokkit.checkpoint.ArrayDescriptor;
import grokkit.checkpoint.Checkpoint;
import grokkit.checkpoint.CheckpointTensor;
import grokkit.convert.ConversionSource;
import grokkit.convert.ConvertOptions;
import grokkit.convert.Converter;
import grokkit.convert.SourceArray;
import grokkit.convert.SourceTensor;
import grokkit.model.ModelConfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts a committed fixture checkpoint into a model directory for CLI tests, through the
 * converter's API. (A test-only adapter from {@link Checkpoint} to {@link ConversionSource}:
 * when {@code grok convert}'s own adapter lands, tests can call the command instead.)
 */
final class FixtureModels {
    private FixtureModels() {}

    static Path root() {
        return Path.of(System.getProperty("grok.root", ".."));
    }

    /** Converts {@code golden-tests/fixtures/NAME} into {@code out} with int8 experts and the given tokenizer. */
    static void convert(String name, Path out, Path tokenizer) throws IOException {
        Path fixture = root().resolve("golden-tests/fixtures").resolve(name);
        ModelConfig.Parsed config = ModelConfig.read(fixture.resolve("config.json"), ModelConfig.grok1());
        try (Arena arena = Arena.ofShared()) {
            Checkpoint ckpt = Checkpoint.open(fixture.resolve("ckpt-0"), config);
            List<SourceTensor> tensors = new ArrayList<>();
            for (CheckpointTensor t : ckpt.tensors()) {
                tensors.add(new SourceTensor(t.name(), array(ckpt, t.weight(), arena),
                        t.scales() == null ? null : array(ckpt, t.scales(), arena)));
            }
            ConversionSource src = new ConversionSource() {
                @Override
                public ModelConfig config() {
                    return ckpt.config();
                }

                @Override
                public List<String> configNotes() {
                    return ckpt.configNotes();
                }

                @Override
                public List<SourceTensor> tensors() {
                    return tensors;
                }
            };
            ConvertOptions opts = ConvertOptions.defaults().withTokenizer(tokenizer).withThreads(1);
            new Converter(opts, new PrintStream(new ByteArrayOutputStream()), false, grokkit.convert.ConvertHooks.NONE).convert(src, out);
        }
    }

    private static SourceArray array(Checkpoint ckpt, ArrayDescriptor a, Arena arena) throws IOException {
        SourceArray.Type type = switch (a.dtype()) {
            case F32 -> SourceArray.Type.F32;
            case INT8 -> SourceArray.Type.INT8;
            case BF16 -> SourceArray.Type.BF16;
            default -> throw new IllegalArgumentException(a.file() + ": unexpected dtype " + a.dtype());
        };
        return new SourceArray(ckpt.map(a, arena), type, a.shape(), a.byteOrder());
    }
}
