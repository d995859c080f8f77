package grokkit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code grok golden create ...}: golden sets from a converted model's own logits. */
@Command(name = "golden", mixinStandardHelpOptions = true,
        description = {"Golden logits sets (docs/GOLDEN.md) made by this runtime.",
                "A golden set made from a trusted model holds later builds and conversions to its exact logits."},
        footerHeading = "%nExample:%n",
        footer = {"  grok golden create grok-1-int8 --tokens prompts.txt --out golden-int8",
                "  grok verify grok-1-int8 --golden golden-int8 --max-abs-diff 0"},
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
