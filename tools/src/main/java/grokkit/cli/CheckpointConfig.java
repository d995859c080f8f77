package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model configuration of a {@code ckpt-0} for convert, inspect and quant-eval: the
 * {@code --model-config} file; else a {@code config.json} inside or beside {@code ckpt-0}
 * (fixtures and Hugging Face-style downloads keep one there); else none, and the checkpoint is
 * refused unless its shapes are Grok-1's or {@code --infer-config} is given.
 *
 * @param given         the configuration read, or null
 * @param file          where it was read from, or null
 * @param refuseGuesses whether the reader must refuse a non-Grok-1 checkpoint without configuration
 */
record CheckpointConfig(ModelConfig.Parsed given, Path file, boolean refuseGuesses) {

    static CheckpointConfig resolve(Path ckptArg, ModelConfigOption option) throws BadInputException {
        if (option.file() != null)
            return new CheckpointConfig(ModelConfigOption.read(option.file(), "--model-config"), option.file(), false);
        Path found = find(ckptArg);
        if (found != null) return new CheckpointConfig(ModelConfigOption.read(found, "config"), found, false);
        return new CheckpointConfig(null, null, !option.infer());
    }

    /** config.json inside the directory given, inside its ckpt-0, or beside it (when it is the ckpt-0). */
    static Path find(Path ckptArg) {
        Path abs = ckptArg.toAbsolutePath().normalize();
        Path[] candidates = {abs.resolve("config.json"), abs.resolve("ckpt-0").resolve("config.json"),
                abs.getParent() == null || Files.isDirectory(abs.resolve("ckpt-0")) ? null : abs.getParent().resolve("config.json")};
        for (Path c : candidates) if (c != null && Files.isRegularFile(c)) return ckptArg.isAbsolute() ? c : relative(c);
        return null;
    }

    private static Path relative(Path abs) {
        try {
            return Path.of("").toAbsolutePath().relativize(abs);
        } catch (IllegalArgumentException e) {
            return abs;
        }
    }

    /** One line saying where the configuration came from. */
    String describe() {
        if (file != null) return "model configuration: " + file;
        return refuseGuesses ? "model configuration: none (Grok-1's, as the shapes are Grok-1's)"
                : "model configuration: inferred from the shapes (--infer-config)";
    }
}
