package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;

/**
 * The {@code grok} command line. Each job is a subcommand class in this package; this class
 * only wires them together and turns exceptions into exit codes ({@link ExitCodes}).
 */
@Command(name = "grok",
        mixinStandardHelpOptions = true,
        versionProvider = VersionInfo.class,
        description = {"Convert, quantize, run and verify the Grok-1 open-weights model (docs/CLI.md).",
                "",
                "Typical workflow:",
                "  grok inspect ckpt-0                                  read and check xAI's checkpoint",
                "  grok convert ckpt-0 grok-1-int8                      lossless int8 model directory",
                "  grok check grok-1-int8                               verify every shard's checksum",
                "  grok verify grok-1-int8 --golden golden/             compare logits with the JAX reference",
                "  grok run grok-1-int8 --prompt \"The answer is\"        generate text",
                ""},
        commandListHeading = "%nCommands (in workflow order):%n",
        subcommands = {
                InspectCommand.class,
                ConvertCommand.class,
                CheckCommand.class,
                VerifyCommand.class,
                RunCommand.class,
                TokenizeCommand.class,
                LogitsCommand.class,
                ImatrixCommand.class,
                QuantEvalCommand.class,
                BenchCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class GrokCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI in-process and returns the exit code (tests call this). */
    public static int run(String... args) {
        return newCommandLine().execute(args);
    }

    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new GrokCli());
        cl.setExecutionExceptionHandler(GrokCli::handle);
        cl.setParameterExceptionHandler(ParseErrors::handle);
        cl.setUsageHelpWidth(100);
        cl.setUsageHelpLongOptionsMaxWidth(32);
        cl.getSubcommands().get("verify").getCommandSpec().usageMessage().footer(VerifyCommand.defaultsFooter());
        cl.setExitCodeExceptionMapper(e -> ExitCodes.BAD_INPUT);
        return cl;
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof BadInputException) {
            err.println("grok " + cl.getCommandName() + ": error: " + e.getMessage());
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        if (e instanceof NoSuchFileException nf) {
            err.println("grok " + cl.getCommandName() + ": error: no such file: " + nf.getFile());
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        if (e instanceof java.io.IOException io) {
            err.println("grok " + cl.getCommandName() + ": error: " + io);
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        err.println("grok " + cl.getCommandName() + ": internal error (please report):");
        e.printStackTrace(err);
        err.flush();
        return ExitCodes.INTERNAL_ERROR;
    }
}
