package grokkit.verify;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Locale;

/**
 * Draws KL(golden ‖ ours) per position as a PNG: prompts side by side along x (separated and
 * labelled), log-scale y with decade grid lines. Only a bound that applies to each position (the
 * largest-KL bound) is drawn across the points; the mean and 99% bounds apply to statistics of
 * all positions, so the observed mean is drawn as a line and both bounds are stated beside it.
 * Positions whose top-1 token differs from the golden one are marked with a red triangle.
 * Positions with KL ≤ 0 (identical distributions, or float64 rounding below zero) cannot be
 * shown on a log axis; they are drawn as hollow markers on the bottom edge.
 * Pure java.awt in headless mode: no display and no plotting library needed.
 */
public final class KlPlot {
    public static final int WIDTH = 960;
    public static final int HEIGHT = 480;
    private static final int LEFT = 80, RIGHT = 24, TOP = 58, BOTTOM = 76;
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf)};

    private KlPlot() {}

    /** The PNG bytes of the plot for a result. */
    public static byte[] png(VerifyResult r) throws IOException {
        return png(r, null);
    }

    /** The PNG bytes, with the model's name (or null) in the title. */
    public static byte[] png(VerifyResult r, String modelName) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = render(r, modelName);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available in this JRE");
        return out.toByteArray();
    }

    static BufferedImage render(VerifyResult r) {
        return render(r, null);
    }

    static BufferedImage render(VerifyResult r, String modelName) {
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            draw(g, r, modelName);
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void draw(Graphics2D g, VerifyResult r, String modelName) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        int pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;

        int total = 0;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (VerifyResult.PromptResult p : r.prompts()) {
            total += p.klPerPosition().length;
            for (double v : p.klPerPosition()) {
                if (v > 0 && Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        Double meanBound = r.thresholds().maxMeanKl(), p99Bound = r.thresholds().maxP99Kl(), maxBound = r.thresholds().maxMaxKl();
        double observedMean = r.overall().klMean();
        for (Double b : new Double[] {maxBound, observedMean > 0 ? observedMean : null}) {
            if (b != null && b > 0 && Double.isFinite(b)) {
                lo = Math.min(lo, b);
                hi = Math.max(hi, b);
            }
        }
        if (!(lo <= hi)) { // nothing positive to show: a fixed range
            lo = 1e-12;
            hi = 1e-6;
        }
        int dLo = (int) Math.floor(Math.log10(lo)), dHi = (int) Math.ceil(Math.log10(hi));
        if (dHi - dLo < 3) dLo = dHi - 3; // at least three decades, so a lone bound is not on the axis
        // room above the highest point for its top-1 marker (about 18 px)
        while ((dHi - Math.log10(hi)) * (HEIGHT - TOP - BOTTOM) / (dHi - dLo) < 18) dHi++;
        final int decLo = dLo, decHi = dHi;
        java.util.function.DoubleUnaryOperator yOf = v -> TOP + ph * (1 - (Math.log10(v) - decLo) / (decHi - decLo));
        final int n = total;
        java.util.function.IntToDoubleFunction xOf = i -> LEFT + (n <= 1 ? pw / 2.0 : pw * (i + 0.5) / n);

        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        Font title = new Font(Font.SANS_SERIF, Font.BOLD, 15);
        g.setFont(small);
        FontMetrics fm = g.getFontMetrics();

        // grid and y labels at each decade
        int step = Math.max(1, (decHi - decLo + 7) / 8);
        for (int d = decLo; d <= decHi; d++) {
            int y = (int) Math.round(yOf.applyAsDouble(Math.pow(10, d)));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(LEFT, y, LEFT + pw, y);
            if ((d - decLo) % step == 0) {
                g.setColor(Color.DARK_GRAY);
                String s = "1e" + d;
                g.drawString(s, LEFT - 8 - fm.stringWidth(s), y + fm.getAscent() / 2 - 1);
                g.drawLine(LEFT - 4, y, LEFT, y);
            }
        }

        // prompt separators and labels; a label that would overlap the previous one is skipped
        int start = 0;
        int tickRight = Integer.MIN_VALUE, promptRight = Integer.MIN_VALUE;
        for (int pi = 0; pi < r.prompts().size(); pi++) {
            VerifyResult.PromptResult p = r.prompts().get(pi);
            int len = p.klPerPosition().length;
            int x0 = LEFT + (total == 0 ? 0 : pw * start / total);
            if (pi > 0) {
                g.setColor(new Color(0xb0b0b0));
                g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {3f, 3f}, 0));
                g.drawLine(x0, TOP, x0, TOP + ph);
                g.setStroke(new BasicStroke(1f));
            }
            // position ticks within the prompt, spaced so their labels do not collide
            g.setColor(Color.DARK_GRAY);
            int tickStep = tickStep(total == 0 ? pw : (double) pw / total);
            for (int t = 0; t < len; t += tickStep) {
                int x = (int) Math.round(xOf.applyAsDouble(start + t));
                g.drawLine(x, TOP + ph, x, TOP + ph + 4);
                String s = Integer.toString(t);
                int sx = x - fm.stringWidth(s) / 2;
                if (sx > tickRight + 6) {
                    g.drawString(s, sx, TOP + ph + 16);
                    tickRight = sx + fm.stringWidth(s);
                }
            }
            int xm = LEFT + (total == 0 ? 0 : pw * (start * 2 + len) / (2 * total));
            String label = "prompt k=" + p.k();
            g.setColor(PALETTE[pi % PALETTE.length]);
            int lw = fm.stringWidth(label);
            if (lw > pw * len / Math.max(1, total)) {
                label = "k=" + p.k();
                lw = fm.stringWidth(label);
            }
            if (xm - lw / 2 > promptRight + 8) {
                g.drawString(label, xm - lw / 2, TOP + ph + 32);
                promptRight = xm - lw / 2 + lw;
            }
            start += len;
        }

        // the per-position bound, and the observed mean (its bound, like the 99% one, applies to
        // the statistic over all positions, not to points: both are stated under the title)
        Color boundColor = new Color(0xd62728), meanColor = new Color(0x555555);
        drawBound(g, maxBound, yOf, pw, boundColor, true);
        if (observedMean > 0 && Double.isFinite(observedMean)) drawBound(g, observedMean, yOf, pw, meanColor, false);

        // data: one polyline + markers per prompt
        start = 0;
        for (int pi = 0; pi < r.prompts().size(); pi++) {
            double[] kl = r.prompts().get(pi).klPerPosition();
            Color c = PALETTE[pi % PALETTE.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(1.5f));
            int px = -1, py = -1;
            for (int t = 0; t < kl.length; t++) {
                int x = (int) Math.round(xOf.applyAsDouble(start + t));
                boolean shown = kl[t] > 0 && Double.isFinite(kl[t]);
                int y = shown ? (int) Math.round(yOf.applyAsDouble(kl[t])) : TOP + ph;
                if (shown) {
                    if (px >= 0) g.drawLine(px, py, x, y);
                    g.fillOval(x - 3, y - 3, 6, 6);
                    px = x;
                    py = y;
                } else {
                    g.drawOval(x - 3, y - 3, 6, 6); // KL ≤ 0 or non-finite: off the log axis
                    px = -1;
                }
            }
            // top-1 changes: a red triangle above the point
            g.setColor(new Color(0xd62728));
            for (int t : r.prompts().get(pi).top1Mismatches()) {
                if (t < 0 || t >= kl.length) continue;
                int x = (int) Math.round(xOf.applyAsDouble(start + t));
                boolean shown = kl[t] > 0 && Double.isFinite(kl[t]);
                int y = (shown ? (int) Math.round(yOf.applyAsDouble(kl[t])) : TOP + ph) - 8;
                g.fillPolygon(new int[] {x - 4, x + 4, x}, new int[] {y - 6, y - 6, y}, 3);
            }
            start += kl.length;
        }

        // the lines' labels over the data, so that no point hides them
        drawLabel(g, maxBound, "largest-KL bound (per position) " + (maxBound == null ? "" : Report.num(maxBound)), yOf, pw, boundColor);
        if (observedMean > 0 && Double.isFinite(observedMean)) drawLabel(g, observedMean, "mean", yOf, pw, meanColor);

        // frame, titles
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(LEFT, TOP, pw, ph);
        g.setFont(title);
        String t = String.format(Locale.ROOT, "KL(golden || ours) per position%s — mode %s, %s",
                modelName == null ? "" : " — " + modelName, r.mode(), r.passed() ? "PASS" : "FAIL");
        g.drawString(t, LEFT, TOP - 30);
        g.setFont(small);
        g.setColor(Color.DARK_GRAY);
        g.drawString(statistics(r), LEFT, TOP - 10);
        String xl = "position in prompt (prompts side by side) · red triangle: top-1 token differs · hollow marker on the axis: KL ≤ 0";
        g.drawString(xl, LEFT + (pw - fm.stringWidth(xl)) / 2, HEIGHT - 12);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        String yl = "KL divergence (nats, log scale)";
        g.drawString(yl, -(TOP + (ph + fm.stringWidth(yl)) / 2), 18);
        g.setTransform(saved);
    }

    /** The pooled statistics with their bounds, for the line under the title: these bounds apply to statistics, not points. */
    static String statistics(VerifyResult r) {
        Double meanBound = r.thresholds().maxMeanKl(), p99Bound = r.thresholds().maxP99Kl();
        int changed = 0;
        for (VerifyResult.PromptResult p : r.prompts()) changed += p.top1Mismatches().length;
        return "all positions: mean KL " + Report.num(r.overall().klMean()) + (meanBound == null ? "" : " (bound " + Report.num(meanBound) + ")")
                + ", 99% KL " + Report.num(r.overall().klP99()) + (p99Bound == null ? "" : " (bound " + Report.num(p99Bound) + ")")
                + ", top-1 changed at " + changed + " of " + r.overall().positions() + " positions";
    }

    /** Positions between labelled ticks: 1, 2, 5, 10, 20, 50, … so that labels are ≥ 28 px apart. */
    static int tickStep(double pixelsPerPosition) {
        for (int decade = 1; ; decade *= 10) {
            for (int m : new int[] {1, 2, 5}) {
                if (m * decade * pixelsPerPosition >= 28 || m * decade >= 1_000_000_000 / 10) return m * decade;
            }
        }
    }

    private static void drawBound(Graphics2D g, Double bound, java.util.function.DoubleUnaryOperator yOf, int pw, Color c, boolean dashed) {
        if (bound == null || !(bound > 0) || !Double.isFinite(bound)) return;
        int y = (int) Math.round(yOf.applyAsDouble(bound));
        g.setColor(c);
        g.setStroke(dashed ? new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {8f, 5f}, 0)
                : new BasicStroke(1f));
        g.drawLine(LEFT, y, LEFT + pw, y);
        g.setStroke(new BasicStroke(1f));
    }

    private static void drawLabel(Graphics2D g, Double bound, String s, java.util.function.DoubleUnaryOperator yOf, int pw, Color c) {
        if (bound == null || !(bound > 0) || !Double.isFinite(bound)) return;
        int y = (int) Math.round(yOf.applyAsDouble(bound));
        FontMetrics fm = g.getFontMetrics();
        int sx = LEFT + pw - fm.stringWidth(s) - 4, sy = y - 4;
        g.setColor(Color.WHITE); // a backing box: the points behind must not hide the label
        g.fillRect(sx - 2, sy - fm.getAscent(), fm.stringWidth(s) + 4, fm.getAscent() + 2);
        g.setColor(c);
        g.drawString(s, sx, sy);
    }
}
