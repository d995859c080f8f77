package grokkit.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;

/** {@code --tokenizer FILE}: a SentencePiece tokenizer.model; a missing file is exit 2 at parse time. */
public final class TokenizerOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Path file;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "SentencePiece tokenizer.model (default for a model directory: the one its manifest names).")
    void setFile(Path f) {
        file = FileArgument.regularFile(mixee, f, "--tokenizer");
    }

    /** The file given, or null. */
    public Path file() {
        return file;
    }
}
