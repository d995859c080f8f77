package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code --model-config FILE} and {@code --infer-config}, for the commands that read a
 * {@code ckpt-0}. Without {@code --model-config}, a {@code config.json} inside or beside
 * {@code ckpt-0} is used (see {@link CheckpointConfig}).
 */
public final class ModelConfigOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Path file;

    @Option(names = "--model-config", paramLabel = "FILE",
            description = {"Model configuration JSON (the reference's field names). Default: config.json inside or beside ckpt-0;",
                    "without one, a checkpoint with Grok-1's shapes gets Grok-1's configuration and any other is refused."})
    void setFile(Path f) {
        file = FileArgument.regularFile(mixee, f, "--model-config");
    }

    @Option(names = "--infer-config",
            description = {"With no configuration file: infer what the shapes tell and take Grok-1's values for the rest",
                    "(key_size, head counts and multipliers may then be guesses; the notes list them)."})
    boolean infer;

    /** The file given with --model-config, or null. */
    public Path file() {
        return file;
    }

    public boolean infer() {
        return infer;
    }

    /** Reads a configuration file as bad input on any problem. */
    static ModelConfig.Parsed read(Path file, String what) throws BadInputException {
        grokkit.io.InputFiles.requireRegularFile(file, what);
        try {
            return ModelConfig.read(file, ModelConfig.grok1());
        } catch (BadInputException e) {
            throw e;
        } catch (IOException e) {
            throw new BadInputException(what + " " + e.getMessage(), e);
        }
    }
}
