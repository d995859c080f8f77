package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.model.ModelWeights;
import grokkit.shard.ShardedModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a converted model directory ({@code grok convert}'s output) for the commands that run the model. */
final class ModelDirs {
    private ModelDirs() {}

    /** Tests only: runs after a model is mapped, before any command uses it (e.g. to truncate a shard under it). */
    static volatile java.util.function.Consumer<Path> afterOpen = dir -> {};

    static ModelWeights open(Path dir, String what) throws IOException {
        if (!Files.isDirectory(dir)) throw new BadInputException(what + " " + dir + ": no such directory");
        ModelWeights m;
        try {
            m = grokkit.shard.ShardedModel.open(dir);
        } catch (BadInputException e) {
            throw new BadInputException(what + " " + e.getMessage(), e);
        }
        afterOpen.accept(dir);
        return m;
    }
}
