package grokkit.cli;

import java.io.PrintWriter;

/**
 * A line printed on stderr if the JVM is stopped (Ctrl-C, SIGTERM) while a long job runs, saying
 * how to continue. Removed when the job ends, so a normal exit prints nothing.
 */
final class InterruptHint {
    private final Thread hook;

    private InterruptHint(Thread hook) {
        this.hook = hook;
    }

    static InterruptHint install(PrintWriter err, String message) {
        Thread hook = new Thread(() -> {
            err.println();
            err.println(message);
            err.flush();
        }, "interrupt-hint");
        Runtime.getRuntime().addShutdownHook(hook);
        return new InterruptHint(hook);
    }

    void remove() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is already stopping: the hook runs and prints the hint
        }
    }
}
