package grokkit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code grok golden create ...}: golden sets from a converted model's own logits. */
@Command(name = "golden", mixinStandardHelpOptions = true,
        description = "Golden logits sets (docs/GOLDEN.md) made by this runtime.",
        subcommands = {CommandLine.HelpCommand.class, GoldenCreateCommand.class})
public final class GoldenCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return grokkit.errors.ExitCodes.BAD_INPUT;
    }
}
