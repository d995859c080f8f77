package grokkit.export;

import java.io.PrintWriter;
import java.util.Locale;

/** Progress of an export in output bytes: bytes, rate and ETA, redrawn on a terminal, every 10% otherwise. */
final class ExportProgress {
    private final PrintWriter out;
    private final boolean terminal;
    private final long total;
    private final long start = System.nanoTime();
    private long done, lastPrint;
    private int lastDecile = -1;

    ExportProgress(PrintWriter out, boolean terminal, long total) {
        this.out = out;
        this.terminal = terminal;
        this.total = Math.max(1, total);
    }

    void add(long bytes) {
        done += bytes;
        long now = System.nanoTime();
        int decile = (int) (10 * done / total);
        if (terminal ? now - lastPrint > 250_000_000L || done >= total : decile != lastDecile || now - lastPrint > 30_000_000_000L) {
            lastPrint = now;
            lastDecile = decile;
            double secs = Math.max(1e-9, (now - start) / 1e9), rate = done / secs;
            String line = String.format(Locale.ROOT, "exported %s / %s (%.1f%%), %s/s, ETA %s", bytes(done), bytes(total),
                    100.0 * done / total, bytes((long) rate), rate > 0 ? duration((total - done) / rate) : "?");
            if (terminal) out.print("\r" + line + "   ");
            else out.println(line);
            out.flush();
        }
    }

    void finish() {
        if (terminal) out.println();
        out.flush();
    }

    static String bytes(long b) {
        if (b < 1024) return b + " B";
        String[] u = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int i = -1;
        while (v >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, u[i]);
    }

    static String duration(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60)
                : t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + "s";
    }
}
