package grokkit.cli;

import grokkit.errors.ExitCodes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code grok bench MODE}: performance measurements, each a subcommand ({@code kernels};
 * {@code decode}/{@code prefill} belong with the runtime). Every mode reports its figures
 * as ratios against a physical limit measured in the same run.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = {"Benchmarks: kernel GB/s against the memory bandwidth, decode and prefill throughput.",
                "Results and method: docs/BENCHMARKS.md."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok bench kernels --encodings int8-rowblock,q4nl --threads 1,2",
                "  grok bench decode --shape grok1-layer --encoding int8"},
        subcommands = {
                BenchKernelsCommand.class,
                BenchDecodeCommand.class,
                BenchPrefillCommand.class,
        })
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        cl.getErr().println("grok bench: choose a mode: " + String.join(", ", cl.getSubcommands().keySet()));
        cl.usage(cl.getErr());
        return ExitCodes.BAD_INPUT;
    }
}
