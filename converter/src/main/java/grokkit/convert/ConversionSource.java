package grokkit.convert;

import grokkit.model.ModelConfig;

import java.util.List;

/**
 * What conversion reads: a validated model configuration and its tensors. {@link CheckpointSource}
 * adapts the {@code ckpt-0} reader; tests may build sources in memory.
 */
public interface ConversionSource extends AutoCloseable {
    ModelConfig config();

    /** What the reader inferred or defaulted about the configuration (printed, not stored). */
    List<String> configNotes();

    /** Every parameter, in checkpoint file order. */
    List<SourceTensor> tensors();

    /** The tensor named {@code name}; throws if absent. */
    default SourceTensor tensor(String name) {
        for (SourceTensor t : tensors()) if (t.name().equals(name)) return t;
        throw new IllegalArgumentException("no tensor " + name);
    }

    @Override
    default void close() {}

    /** Whether int8 scale layouts other than the release's were accepted ({@code --allow-scale-layout}). */
    default boolean allowsScaleLayout() {
        return false;
    }
}
