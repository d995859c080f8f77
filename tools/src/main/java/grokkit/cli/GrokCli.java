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
        version = "grok-kit 0.1.0",
        description = "Convert, quantize, run and verify the Grok-1 open-weights model.",
        subcommands = {
                CommandLine.HelpCommand.class,
                ConvertCommand.class,
                CheckCommand.class,
                VerifyCommand.class,
                BenchCommand.class,
                LogitsCommand.class,
                TokenizeCommand.class,
                RunCommand.class,
                InspectCommand.class,
                QuantEvalCommand.class,
                ImatrixCommand.class,
                ExportCommand.class,
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
