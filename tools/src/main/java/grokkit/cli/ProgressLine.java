package grokkit.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress of a long command on stderr: done / total units, rate and ETA. On a terminal one line
 * redrawn in place at most four times a second; otherwise a line every 10% (and at least every
 * 30 s) so logs stay readable.
 */
final class ProgressLine {
    private final PrintWriter err;
    private final boolean terminal;
    private final String what;
    private final String unit;
    private final long total;
    private final long start = System.nanoTime();
    private long lastPrint;
    private int lastDecile = -1;
    private boolean drawn;

    /**
     * @param what  the job, e.g. "imatrix"
     * @param unit  the unit counted, e.g. "tokens"
     */
    ProgressLine(PrintWriter err, boolean terminal, String what, String unit, long total) {
        this.err = err;
        this.terminal = terminal;
        this.what = what;
        this.unit = unit;
        this.total = Math.max(1, total);
    }

    static ProgressLine of(PrintWriter err, String what, String unit, long total) {
        return new ProgressLine(err, Terminal.stderrIsTerminal(), what, unit, total);
    }

    void update(long done) {
        long now = System.nanoTime();
        int decile = (int) Math.min(10, 10 * done / total);
        boolean due = terminal ? now - lastPrint > 250_000_000L || done >= total
                : decile != lastDecile || now - lastPrint > 30_000_000_000L;
        if (!due) return;
        lastPrint = now;
        lastDecile = decile;
        double secs = Math.max(1e-9, (now - start) / 1e9);
        double rate = done / secs;
        String eta = rate > 0 ? duration((total - done) / rate) : "?";
        String line = String.format(Locale.ROOT, "%s: %,d / %,d %s (%.0f%%), %s %s/s, ETA %s",
                what, done, total, unit, 100.0 * done / total, rate >= 100 ? String.format(Locale.ROOT, "%.0f", rate) : String.format(Locale.ROOT, "%.2f", rate), unit, eta);
        if (terminal) {
            err.print("\r" + line + "   ");
            drawn = true;
        } else {
            err.println(line);
        }
        err.flush();
    }

    /** Ends the redrawn line (a no-op off a terminal). */
    void finish() {
        if (terminal && drawn) err.println();
        err.flush();
    }

    static String duration(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60)
                : t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + "s";
    }
}
