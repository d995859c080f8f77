package grokkit.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint file as read, before it is named and checked against the configuration.
 *
 * @param scales null for {@link TensorKind#F32}
 */
record TensorFile(int index, Path file, TensorKind kind, ArrayDescriptor weight, ArrayDescriptor scales) {
    String fileName() {
        return file.getFileName().toString();
    }
}
