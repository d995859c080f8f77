package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.model.ModelWeights;
import grokkit.shard.Manifest;
import grokkit.shard.ShardedModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The two kinds of directory the commands take, told apart before anything is opened so that
 * the wrong one gets a message naming the command that reads it: a converted model directory
 * ({@code grok convert}'s output: manifest.json and shards) and xAI's {@code ckpt-0} (tensor files).
 */
final class ModelDirs {
    private ModelDirs() {}

    private static final Pattern TENSOR_FILE = Pattern.compile("tensor\\d{5}_\\d{3}");

    /** Tests only: runs after a model is mapped, before any command uses it (e.g. to truncate a shard under it). */
    static volatile java.util.function.Consumer<Path> afterOpen = dir -> {};

    /** Opens a converted model directory; {@code what} names the argument in messages (MODEL_DIR, --model). */
    static ShardedModel open(Path dir, String what) throws IOException {
        requireModelDir(dir, what);
        ShardedModel m;
        try {
            m = ShardedModel.open(dir);
        } catch (BadInputException e) {
            throw new BadInputException(what + " " + e.getMessage(), e);
        }
        afterOpen.accept(dir);
        return m;
    }

    /** Refuses anything but a converted model directory, saying what it is and which command fits. */
    static void requireModelDir(Path dir, String what) throws IOException {
        if (!Files.isDirectory(dir)) throw new BadInputException(what + " " + dir + ": no such directory");
        // Anything named manifest.json (a FIFO, a link to a device…) goes to the manifest reader,
        // which refuses it naming what it is; only its absence means "not a model directory".
        if (Files.exists(dir.resolve(Manifest.FILE_NAME), java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        if (isCheckpoint(dir))
            throw new BadInputException(what + " " + dir + ": this is an xAI checkpoint (ckpt-0), not a converted model directory; "
                    + "convert it first: grok convert " + dir + " OUT_DIR (then use OUT_DIR here)");
        if (Files.isDirectory(dir.resolve(".convert-state")))
            throw new BadInputException(what + " " + dir + ": an interrupted conversion (no manifest.json yet); "
                    + "finish it with: grok convert CKPT_DIR " + dir + " --resume");
        throw new BadInputException(what + " " + dir + ": not a converted model directory (no " + Manifest.FILE_NAME
                + "); make one with: grok convert CKPT_DIR " + dir);
    }

    /** Refuses a converted model directory where a ckpt-0 is expected, naming the commands that read it. */
    static void requireCheckpointDir(Path dir, String what) throws IOException {
        if (Files.isRegularFile(dir.resolve(Manifest.FILE_NAME)) && !isCheckpoint(dir))
            throw new BadInputException(what + " " + dir + ": this is a converted model directory (grok convert's output), not an xAI ckpt-0 checkpoint; "
                    + "read it with grok check / grok run / grok verify / grok logits " + dir);
    }

    /** Whether {@code dir} holds xAI tensor files, or a ckpt-0 directory that does. */
    static boolean isCheckpoint(Path dir) throws IOException {
        return hasTensorFiles(dir) || (Files.isDirectory(dir.resolve("ckpt-0")) && hasTensorFiles(dir.resolve("ckpt-0")));
    }

    private static boolean hasTensorFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> TENSOR_FILE.matcher(p.getFileName().toString()).matches());
        }
    }

    /** For callers that want the model interface. */
    static ModelWeights openWeights(Path dir, String what) throws IOException {
        return open(dir, what);
    }
}
