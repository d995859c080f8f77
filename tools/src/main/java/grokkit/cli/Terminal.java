package grokkit.cli;

/** Whether progress may be redrawn in place with carriage returns. */
final class Terminal {
    private Terminal() {}

    /**
     * ./grok passes -Dgrok.stderr.tty (it pipes stderr through a filter, so the JVM cannot see
     * the terminal itself); without the launcher, a console on stdin and stdout is taken as one.
     */
    static boolean stderrIsTerminal() {
        String p = System.getProperty("grok.stderr.tty");
        if (p != null) return Boolean.parseBoolean(p);
        return System.console() != null && System.console().isTerminal();
    }
}
