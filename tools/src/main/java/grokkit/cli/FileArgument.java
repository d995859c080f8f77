package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.io.InputFiles;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.nio.file.Path;

/** The check shared by the file options (--tokenizer, --model-config, --imatrix): a regular file, or exit 2 at parse time. */
final class FileArgument {
    private FileArgument() {}

    /**
     * {@code file} if it is a regular file; otherwise a parse error naming the option and what
     * the path is (missing, a directory, a FIFO or device), found without opening it.
     */
    static Path regularFile(CommandSpec mixee, Path file, String option) {
        try {
            InputFiles.requireRegularFile(file, option);
        } catch (BadInputException e) {
            throw new ParameterException(mixee.commandLine(), e.getMessage());
        }
        return file;
    }
}
