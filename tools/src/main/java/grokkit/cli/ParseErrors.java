package grokkit.cli;

import grokkit.errors.ExitCodes;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * What a command line that does not parse prints: the error, a "did you mean" for a mistyped
 * option or command, and one line on how to get help (the whole usage would push the error off
 * the screen). A mistyped option is reported first even when a required option is then missing
 * ({@code grok run M --promt hi} is a typo of --prompt, not a missing --prompt). Exit 2.
 */
final class ParseErrors {
    private ParseErrors() {}

    static int handle(ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        PrintWriter err = cl.getErr();
        String cmd = cl.getCommandSpec().qualifiedName();
        List<String> unknown = new ArrayList<>();
        for (String a : cl.getUnmatchedArguments()) if (a.startsWith("-") && a.length() > 1) unknown.add(a);
        if (!unknown.isEmpty()) {
            err.println(cmd + ": error: unknown option '" + unknown.getFirst() + "'");
        } else if (ex instanceof CommandLine.UnmatchedArgumentException && !cl.getUnmatchedArguments().isEmpty()) {
            String w = cl.getUnmatchedArguments().getFirst();
            boolean commands = !cl.getCommandSpec().subcommands().isEmpty();
            err.println(cmd + ": error: " + (commands ? "unknown command '" + w + "'" : "unexpected argument '" + w + "'"));
        } else {
            err.println(cmd + ": error: " + ex.getMessage());
        }
        String word = !unknown.isEmpty() ? unknown.getFirst() : cl.getUnmatchedArguments().isEmpty() ? null : cl.getUnmatchedArguments().getFirst();
        if (word != null) {
            List<String> close = suggestions(word, cl.getCommandSpec());
            if (!close.isEmpty()) err.println("Did you mean: " + String.join(" or ", close) + "?");
        }
        err.println("Run '" + cmd + " --help' for usage.");
        err.flush();
        return ExitCodes.BAD_INPUT;
    }

    /** Option and subcommand names within a small edit distance of {@code word} (or starting with it). */
    static List<String> suggestions(String word, CommandSpec spec) {
        String w = word.contains("=") ? word.substring(0, word.indexOf('=')) : word;
        List<String> names = new ArrayList<>();
        if (w.startsWith("-")) spec.optionsMap().keySet().forEach(names::add);
        else names.addAll(spec.subcommands().keySet());
        String lw = w.toLowerCase(Locale.ROOT);
        int limit = Math.max(1, Math.min(3, w.replace("-", "").length() / 3));
        return names.stream()
                .filter(n -> !n.equals(w) && (distance(lw, n.toLowerCase(Locale.ROOT)) <= limit
                        || (lw.length() >= 4 && n.startsWith(lw))))
                .sorted(Comparator.comparingInt((String n) -> distance(lw, n)).thenComparing(n -> n))
                .distinct().limit(3).toList();
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++)
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
