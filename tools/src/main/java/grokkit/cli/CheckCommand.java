package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.shard.ModelChecker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code grok check MODEL_DIR}: re-reads every shard and verifies lengths, alignment and
 * CRC32C checksums against the manifest. Exit 0 when intact, 1 with every problem (naming the
 * tensor) when not, 2 when MODEL_DIR is not a readable model directory.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check a converted model directory: shard lengths, alignment and CRC32C checksums.",
                "Re-reads every shard and compares lengths, alignment, each tensor's CRC32C and the zero padding with the manifest.",
                "Progress (bytes, rate, ETA) goes to stderr for models over 256 MiB.",
                "Exit 0 intact, 1 corrupted (each problem names the tensor), 2 not a model directory."},
        footerHeading = "%nExample:%n",
        footer = {"  grok check grok-1-int8"})
public final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "A directory written by grok convert.")
    Path dir;

    @Mixin
    QuietOption quiet;

    /** Below this, a check takes well under a second: no progress lines. */
    static final long PROGRESS_FROM_BYTES = 256L << 20;

    @Override
    public Integer call() throws java.io.IOException {
        ModelDirs.requireModelDir(dir, "MODEL_DIR");
        long start = System.nanoTime();
        PrintWriter log = quiet.progress(spec.commandLine().getErr());
        ProgressLine[] line = {null};
        ModelChecker.Result r = ModelChecker.check(dir, (done, total) -> {
            if (total < PROGRESS_FROM_BYTES) return;
            if (line[0] == null) line[0] = ProgressLine.of(log, "check", "MiB", total >> 20);
            line[0].update(done >> 20);
        });
        if (line[0] != null) line[0].finish();
        double secs = (System.nanoTime() - start) / 1e9;
        if (r.ok()) {
            PrintWriter out = spec.commandLine().getOut();
            out.printf("OK: %s: %d shards, %d tensors, %d bytes verified in %.1f s%n", dir, r.shards(), r.tensors(), r.bytes(), secs);
            out.flush();
            return ExitCodes.OK;
        }
        PrintWriter err = spec.commandLine().getErr();
        for (String p : r.problems()) err.println("CORRUPT: " + p);
        err.printf("%s: %d problem(s) in %d shards, %d tensors%n", dir, r.problems().size(), r.shards(), r.tensors());
        err.flush();
        return ExitCodes.CHECK_FAILED;
    }
}
