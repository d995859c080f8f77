package grokkit.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training run of the AOT cache built at package time (tools/pom.xml): the commands people
 * start most often, in-process, output discarded, so their classes are loaded and linked from
 * the cache at start-up. Run from the repository root (it reads the bundled fixtures when present).
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) {
        PrintStream out = System.out, err = System.err;
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        System.setOut(sink);
        System.setErr(sink);
        try {
            GrokCli.run("--help");
            GrokCli.run("--version");
            for (String c : GrokCli.newCommandLine().getSubcommands().keySet()) GrokCli.run(c, "--help");
            GrokCli.run("run", "--promt", "x");
            Path fixture = Path.of("golden-tests/fixtures/tiny-12l");
            if (Files.isDirectory(fixture)) {
                GrokCli.run("inspect", fixture.toString());
                GrokCli.run("inspect", fixture.toString(), "--json");
            }
            Path tokenizer = Path.of("golden-tests/fixtures/tokenizer/tiny.model");
            if (Files.isRegularFile(tokenizer)) GrokCli.run("tokenize", "--tokenizer", tokenizer.toString(), "The quick brown fox", "--pieces");
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}
