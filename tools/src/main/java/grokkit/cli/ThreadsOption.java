package grokkit.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --threads N}, shared by every command that runs work on a pool. Checked while the
 * command line is parsed, before anything is allocated, so a bad value is exit 2 with the same
 * message everywhere.
 *
 * <p>The upper bound, min(1024, max(16, 4 × processors)), keeps a typo (an extra zero) from
 * creating thousands of threads each with its own buffers; it still allows oversubscription for
 * measurements on small machines.
 */
public final class ThreadsOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Integer threads;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads, 1 to min(1024, max(16, 4 × processors)) (default: all processors).")
    void setThreads(int n) {
        String problem = problem(n);
        if (problem != null) throw new ParameterException(mixee.commandLine(), problem);
        threads = n;
    }

    /** The thread count given, or all processors. */
    public int resolve() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** Whether --threads was given. */
    public boolean given() {
        return threads != null;
    }

    /** The largest accepted thread count on this machine. */
    public static int max() {
        return Math.min(1024, Math.max(16, 4 * Runtime.getRuntime().availableProcessors()));
    }

    /** The message for a bad thread count, or null when {@code n} is accepted. */
    static String problem(int n) {
        if (n >= 1 && n <= max()) return null;
        return "--threads: must be between 1 and " + max() + " (min(1024, max(16, 4 × "
                + Runtime.getRuntime().availableProcessors() + " processors))), got " + n;
    }
}
