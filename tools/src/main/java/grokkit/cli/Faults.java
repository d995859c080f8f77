package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.io.InputFiles;
import grokkit.io.MappedFiles;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The last word on anything that ends a command other than by returning: exceptions that are
 * not bad input, and {@link Error}s, which picocli lets through. A mapped file that shrank
 * (SIGBUS, surfacing as an {@link InternalError}) and running out of memory are the user's
 * situation, not our bug: each gets a one-line message naming the file, exit 2, no stack trace.
 * Only a genuine internal fault prints a trace and exits 3.
 */
final class Faults {
    private Faults() {}

    /** Wraps an execution strategy so that an {@link Error} thrown by a command is reported too. */
    static CommandLine.IExecutionStrategy reportingErrors(CommandLine.IExecutionStrategy inner) {
        return parsed -> {
            try {
                return inner.execute(parsed);
            } catch (CommandLine.ExecutionException | CommandLine.ParameterException e) {
                throw e;
            } catch (Error e) {
                CommandLine cl = deepest(parsed);
                return report(e, cl.getErr(), cl.getCommandName());
            }
        };
    }

    private static CommandLine deepest(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult p = parsed;
        while (p.hasSubcommand()) p = p.subcommand();
        return p.commandSpec().commandLine();
    }

    /** Prints what ended the command and returns its exit code. */
    static int report(Throwable t, PrintWriter err, String command) {
        String who = "grok " + command + ": ";
        try {
            Throwable fault = find(t, InternalError.class);
            if (fault != null && isMappedAccessFault(fault)) {
                List<MappedFiles.Shrunk> shrunk = MappedFiles.shrunk();
                if (!shrunk.isEmpty()) {
                    for (MappedFiles.Shrunk s : shrunk)
                        err.println(who + "error: " + s.describe() + "; another program truncated or replaced it while grok read it"
                                + " (re-run when it is complete; grok check verifies a model directory)");
                } else {
                    err.println(who + "error: a memory-mapped file could not be read (" + fault.getMessage()
                            + "): an I/O error on the disk or a file changed while in use; mapped: " + names(MappedFiles.files()));
                }
                return ExitCodes.BAD_INPUT;
            }
            OutOfMemoryError oom = find(t, OutOfMemoryError.class);
            if (oom != null) {
                err.println(who + "error: " + outOfMemory(oom));
                return ExitCodes.BAD_INPUT;
            }
            Throwable io = findIo(t);
            if (io instanceof BadInputException bad) {
                err.println(who + "error: " + bad.getMessage());
                return ExitCodes.BAD_INPUT;
            }
            if (io != null) {
                err.println(who + "error: " + io);
                return ExitCodes.BAD_INPUT;
            }
            err.println(who + "internal error (please report):");
            t.printStackTrace(err);
            return ExitCodes.INTERNAL_ERROR;
        } finally {
            err.flush();
        }
    }

    /** The JVM's message for SIGBUS/SIGSEGV in a mapped-memory access (Unsafe, MemorySegment, Vector API). */
    static boolean isMappedAccessFault(Throwable e) {
        return e.getMessage() != null && e.getMessage().contains("unsafe memory access");
    }

    static String outOfMemory(OutOfMemoryError e) {
        Runtime rt = Runtime.getRuntime();
        String msg = e.getMessage() == null ? "" : e.getMessage();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "out of memory (%s; Java heap limit %d MiB)", msg.isEmpty() ? "heap" : msg,
                rt.maxMemory() >> 20));
        Path last = InputFiles.lastRead();
        if (last != null) sb.append(" while reading ").append(last);
        List<Path> mapped = MappedFiles.files();
        if (!mapped.isEmpty()) sb.append("; mapped model files: ").append(names(mapped));
        if (msg.contains("native thread")) sb.append(". Hint: use fewer --threads");
        else sb.append(". Hint: check that the inputs are what you meant (a much larger file or count than expected?),"
                + " or give the JVM more heap: GROK_JAVA_OPTS=-Xmx").append(Math.max(2, 2 * (rt.maxMemory() >> 30))).append("g grok ...");
        return sb.toString();
    }

    private static String names(List<Path> files) {
        if (files.isEmpty()) return "none";
        List<String> s = files.stream().limit(4).map(Path::toString).toList();
        return String.join(", ", s) + (files.size() > 4 ? ", … (" + files.size() + " files)" : "");
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (int depth = 0; t != null && depth < 32; t = t.getCause(), depth++) if (type.isInstance(t)) return type.cast(t);
        return null;
    }

    /** An I/O failure wrapped in an unchecked exception (a lambda, a worker thread): reported as the I/O failure. */
    private static Throwable findIo(Throwable t) {
        for (int depth = 0; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof IOException) return t;
            if (t instanceof UncheckedIOException u) return u.getCause();
        }
        return null;
    }
}
