package grokkit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The help's option list, description and footer, wrapped at spaces only. picocli wraps with
 * java.text.BreakIterator, which breaks after a dot inside a word ({@code manifest.} /
 * {@code json}); file names and option values must stay whole to be read and copied.
 * A description line that starts with spaces is kept as its own line (a table row or an
 * example); the other lines of a description are one paragraph.
 */
final class HelpLayout {
    static final int WIDTH = 100;
    private static final int MAX_NAMES = 32;

    private HelpLayout() {}

    /** Installs the layout on {@code cl} and all its subcommands. */
    static void install(CommandLine cl) {
        cl.setUsageHelpWidth(WIDTH);
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_SYNOPSIS, HelpLayout::synopsis);
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_PARAMETER_LIST, help -> "");
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST, help -> optionList(help.commandSpec()));
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_DESCRIPTION,
                help -> lines(help.commandSpec().usageMessage().description()));
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER,
                help -> lines(help.commandSpec().usageMessage().footer()));
        for (CommandLine sub : cl.getSubcommands().values()) install(sub);
    }

    /**
     * The synopsis laid out on one unbounded line by picocli, then wrapped at spaces under the
     * command name (picocli breaks inside {@code [--encodings=ENC[,ENC...]]...}).
     */
    static String synopsis(CommandLine.Help help) {
        CommandLine.Model.UsageMessageSpec usage = help.commandSpec().usageMessage();
        int width = usage.width();
        String line;
        try {
            usage.width(Short.MAX_VALUE);
            line = help.synopsis(help.synopsisHeadingLength()).strip();
        } finally {
            usage.width(width);
        }
        String head = help.commandSpec().qualifiedName();
        String rest = line.startsWith(head) ? line.substring(head.length()).strip() : line;
        int indent = help.synopsisHeadingLength() + head.length() + 1;
        List<String> w = wrap(rest, WIDTH - indent);
        StringBuilder sb = new StringBuilder(head);
        for (int i = 0; i < w.size(); i++) sb.append(i == 0 ? " " : "\n" + " ".repeat(indent)).append(w.get(i));
        return sb.append('\n').toString();
    }

    static String optionList(CommandSpec spec) {
        List<String[]> rows = new ArrayList<>();
        for (PositionalParamSpec p : spec.positionalParameters()) {
            if (p.hidden()) continue;
            String label = p.paramLabel();
            rows.add(new String[]{"      " + (p.arity().min() == 0 ? "[" + label + "]" : label), text(p)});
        }
        List<OptionSpec> options = new ArrayList<>();
        for (OptionSpec o : spec.options()) if (!o.hidden()) options.add(o);
        if (spec.usageMessage().sortOptions())
            options.sort(Comparator.comparing((OptionSpec o) -> o.shortestName().replace("-", "").toLowerCase(java.util.Locale.ROOT)));
        // help and version last, as picocli does
        options.sort(Comparator.comparingInt(o -> o.usageHelp() || o.versionHelp() ? 1 : 0));
        for (OptionSpec o : options) rows.add(new String[]{names(o), text(o)});
        int col = 0;
        for (String[] r : rows) col = Math.max(col, Math.min(MAX_NAMES, r[0].length()));
        col += 2;
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            List<String> desc = wrapParagraphs(r[1], WIDTH - col);
            String first = r[0];
            if (first.length() > col - 2) {
                sb.append(first).append('\n');
                first = "";
            }
            for (int i = 0; i < Math.max(1, desc.size()); i++) {
                String head = i == 0 ? first : "";
                sb.append(pad(head, col)).append(desc.isEmpty() ? "" : desc.get(i)).append('\n');
            }
        }
        return sb.toString().replaceAll(" +\n", "\n");
    }

    static String names(OptionSpec o) {
        String shortName = null, longName = null;
        for (String n : o.names()) {
            if (n.startsWith("--")) { if (longName == null) longName = n; }
            else if (shortName == null) shortName = n;
        }
        StringBuilder b = new StringBuilder("  ");
        b.append(shortName != null ? shortName + (longName != null ? ", " : "") : "    ");
        if (longName != null) b.append(longName);
        if (o.arity().max() > 0) {
            String label = o.paramLabel();
            b.append(o.arity().min() == 0 ? "[=" + label + "]" : "=" + label);
        }
        return b.toString();
    }

    /** The description lines, ${DEFAULT-VALUE} filled in, joined with newlines. */
    private static String text(ArgSpec a) {
        return String.join("\n", a.renderedDescription());
    }

    /**
     * Lines of a description or footer, as written where they fit (tables, aligned examples).
     * A line too long is wrapped at spaces; for a plain line, what does not fit is carried into
     * the next plain line, so a sentence split over two source lines stays one paragraph.
     * An indented line too long wraps under itself, two columns in.
     */
    static String lines(String[] lines) {
        StringBuilder sb = new StringBuilder();
        String carry = "";
        List<String> all = new ArrayList<>();
        for (String raw : lines) all.addAll(List.of(String.format(raw.replace("%n", "\n").replace("%", "%%")).split("\n", -1)));
        for (String l : all) {
            if (!carry.isEmpty()) {
                if (!l.isBlank() && leading(l) == 0) {
                    l = carry + " " + l;
                } else {
                    sb.append(carry).append('\n');
                }
                carry = "";
            }
            if (l.length() <= WIDTH) {
                sb.append(l).append('\n');
                continue;
            }
            if (leading(l) == 0) {
                List<String> w = wrap(l, WIDTH);
                for (int i = 0; i < w.size() - 1; i++) sb.append(w.get(i)).append('\n');
                carry = w.getLast();
                continue;
            }
            int indent = leading(l);
            List<String> w = wrap(l.strip(), WIDTH - indent - 2);
            for (int i = 0; i < w.size(); i++) sb.append(" ".repeat(i == 0 ? indent : indent + 2)).append(w.get(i)).append('\n');
        }
        if (!carry.isEmpty()) sb.append(carry).append('\n');
        return sb.toString();
    }

    /** Description elements: indented ones are lines of their own, the others one paragraph. */
    static List<String> wrapParagraphs(String text, int width) {
        List<String> out = new ArrayList<>();
        StringBuilder para = new StringBuilder();
        for (String l : text.split("\n")) {
            if (l.startsWith("  ")) {
                if (!para.isEmpty()) { out.addAll(wrap(para.toString(), width)); para.setLength(0); }
                if (l.length() <= width) {
                    out.add(l);
                    continue;
                }
                int indent = leading(l);
                List<String> w = wrap(l.strip(), width - indent - 2);
                for (int i = 0; i < w.size(); i++) out.add(" ".repeat(indent + (i == 0 ? 0 : 2)) + w.get(i));
            } else {
                if (!para.isEmpty()) para.append(' ');
                para.append(l.strip());
            }
        }
        if (!para.isEmpty()) out.addAll(wrap(para.toString(), width));
        return out;
    }

    /** Greedy wrapping at spaces; a word longer than the width gets a line of its own (never split). */
    static List<String> wrap(String text, int width) {
        List<String> out = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" +")) {
            if (word.isEmpty()) continue;
            if (!line.isEmpty() && line.length() + 1 + word.length() > width) {
                out.add(line.toString());
                line.setLength(0);
            }
            if (!line.isEmpty()) line.append(' ');
            line.append(word);
        }
        if (!line.isEmpty()) out.add(line.toString());
        return out;
    }

    private static int leading(String s) {
        int i = 0;
        while (i < s.length() && s.charAt(i) == ' ') i++;
        return i;
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
