package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.model.ModelWeights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a converted model directory ({@code grok convert}'s output) for the commands that run the model. */
final class ModelDirs {
    private ModelDirs() {}

    static ModelWeights open(Path dir, String what) throws IOException {
        if (!Files.isDirectory(dir)) throw new BadInputException(what + " " + dir + ": no such directory");
        // TODO(shard format): return grokkit.shard.ShardedModel.open(dir) once it is merged.
        throw new BadInputException(what + " " + dir + ": cannot open a converted model: this build has no reader for "
                + "the sharded format (grokkit.shard) yet");
    }
}
