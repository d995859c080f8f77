package grokkit.errors;

/** Process exit codes shared by every `grok` subcommand, so CI jobs can gate on them. */
public final class ExitCodes {
    /** Success: the job ran and every check passed. */
    public static final int OK = 0;
    /** The job ran but a check failed: verify thresholds exceeded, check found corruption. */
    public static final int CHECK_FAILED = 1;
    /** Bad input or usage: missing/hostile/inconsistent files, bad options. Nothing complete was written. */
    public static final int BAD_INPUT = 2;
    /** An internal error (a bug): please report it with the stack trace. */
    public static final int INTERNAL_ERROR = 3;

    private ExitCodes() {}
}
