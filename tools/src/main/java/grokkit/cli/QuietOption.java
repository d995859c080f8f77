package grokkit.cli;

import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.io.Writer;

/** {@code -q/--quiet}: no progress or statistics on stderr; results and errors still print. */
public final class QuietOption {
    @Option(names = {"-q", "--quiet"}, description = "No progress or timing lines on stderr (errors still print).")
    boolean quiet;

    public boolean quiet() {
        return quiet;
    }

    /** Where progress goes: {@code err}, or nowhere with --quiet. */
    public PrintWriter progress(PrintWriter err) {
        return quiet ? new PrintWriter(Writer.nullWriter()) : err;
    }
}
