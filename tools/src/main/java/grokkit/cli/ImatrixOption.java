package grokkit.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;

/**
 * {@code --imatrix FILE}, for the commands that quantize experts (convert, export): an importance
 * matrix from {@code grok imatrix}. A missing file is exit 2 at parse time; whether it belongs to
 * this model is checked by the quantizer that reads it.
 */
public final class ImatrixOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Path file;

    @Option(names = "--imatrix", paramLabel = "FILE",
            description = {"An importance matrix (grok imatrix): the expert quantizers weight each input channel's error",
                    "by the mean squared input seen on calibration text (in convert: with --experts int4 or q4nl only)."})
    void setFile(Path f) {
        file = FileArgument.regularFile(mixee, f, "--imatrix");
    }

    /** The file given, or null. */
    public Path file() {
        return file;
    }
}
