package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.util.List;

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
                "  grok export ckpt-0 grok-1-q4_k.gguf --type q4_k      a GGUF for llama.cpp",
                "  grok check grok-1-int8                               verify every shard's checksum",
                "  grok verify grok-1-int8 --golden golden/             compare logits with the JAX reference",
                "  grok run grok-1-int8 --prompt \"The answer is\"        generate text",
                ""},
        commandListHeading = "%nCommands (in workflow order):%n")
public final class GrokCli {
    /**
     * The subcommands, in workflow order. Not in {@code @Command(subcommands = ...)}: picocli
     * would build every command's model (reflection over all their options) on each start, most
     * of the start-up time (docs/benchmarks/startup.md); {@link #newCommandLine(String...)} builds
     * only the one that runs.
     */
    static final List<Class<?>> COMMANDS = List.of(
            ConvertCommand.class,
            CheckCommand.class,
            InspectCommand.class,
            RunCommand.class,
            LogitsCommand.class,
            TokenizeCommand.class,
            VerifyCommand.class,
            GoldenCommand.class,
            ExportCommand.class,
            ImatrixCommand.class,
            QuantEvalCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class);

    /** The grok-kit version, recorded in the files it writes (golden sets). */
    public static final String VERSION = "0.1.0";

    public static void main(String[] args) {
        Thread.setDefaultUncaughtExceptionHandler(GrokCli::uncaught);
        System.exit(run(args));
    }

    /** Runs the CLI in-process and returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = newCommandLine(args);
        try {
            return cl.execute(args);
        } catch (Throwable t) { // anything picocli lets through: an Error while parsing or in a handler
            return Faults.report(t, cl.getErr(), cl.getCommandName());
        }
    }

    /** A thread that dies of an uncaught throwable: one line (no "Exception in thread"), same rules as a command. */
    private static void uncaught(Thread thread, Throwable t) {
        Faults.report(t, new PrintWriter(System.err, true), thread.getName());
    }

    /** The command line with every subcommand built (tests, and {@code grok help COMMAND}). */
    public static CommandLine newCommandLine() {
        return build(null, true);
    }

    /**
     * The command line for {@code args}: the subcommand they name is built in full; the others
     * are stubs holding only their name and description, which is all the top-level help and
     * the "did you mean" of a mistyped command use.
     */
    static CommandLine newCommandLine(String... args) {
        String named = null;
        if (args != null) {
            for (String a : args) {
                if (!a.startsWith("-")) {
                    named = a;
                    break;
                }
            }
        }
        return build(named, "help".equals(named));
    }

    private static CommandLine build(String only, boolean all) {
        CommandLine cl = new CommandLine(new GrokCli());
        for (Class<?> c : COMMANDS) {
            Command a = c.getAnnotation(Command.class);
            if (all || a.name().equals(only)) {
                cl.addSubcommand(a.name(), c);
            } else {
                CommandSpec stub = CommandSpec.create().name(a.name());
                stub.usageMessage().description(a.description()).header(a.header());
                cl.addSubcommand(a.name(), stub);
            }
        }
        cl.setExecutionExceptionHandler(GrokCli::handle);
        cl.setExecutionStrategy(Faults.reportingErrors(cl.getExecutionStrategy()));
        cl.setParameterExceptionHandler(ParseErrors::handle);
        cl.setUsageHelpLongOptionsMaxWidth(32);
        CommandLine verify = cl.getSubcommands().get("verify");
        if (verify.getCommandSpec().userObject() instanceof VerifyCommand)
            verify.getCommandSpec().usageMessage().footer(VerifyCommand.defaultsFooter());
        HelpLayout.install(cl);
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
        return Faults.report(e, err, cl.getCommandName());
    }
}
