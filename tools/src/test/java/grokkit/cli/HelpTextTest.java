package grokkit.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every command's {@code --help}: no word broken across lines, no line over the width, no internal
 * class names, no picocli default labels, the defaults shown, an example, and the commands listed
 * in workflow order.
 */
class HelpTextTest {
    /** CamelCase identifiers that are names of things users meet, not of our classes. */
    private static final Set<String> PRODUCT_NAMES = Set.of("SentencePiece");
    private static final Pattern CAMEL_CASE = Pattern.compile("\\b[A-Z][a-z]+[A-Z][a-z]+[A-Za-z0-9]*\\b");

    static List<CommandLine> allCommands() {
        List<CommandLine> all = new ArrayList<>();
        collect(GrokCli.newCommandLine(), all);
        return all;
    }

    private static void collect(CommandLine cl, List<CommandLine> all) {
        all.add(cl);
        for (CommandLine sub : cl.getSubcommands().values()) if (!sub.getCommandName().equals("help")) collect(sub, all);
    }

    /** The help as the user sees it: {@code grok ... --help} through the real entry point. */
    private static String help(CommandLine cl) {
        List<String> args = new ArrayList<>(Arrays.asList(cl.getCommandSpec().qualifiedName().split(" ")));
        args.removeFirst(); // "grok"
        args.add("--help");
        TokenizeCommandTest.Result r = TokenizeCommandTest.run(args.toArray(String[]::new));
        assertThat(r.code()).as(args.toString()).isZero();
        return r.out();
    }

    /**
     * Every whitespace-separated word the help of {@code cl} may print: the words of what the code
     * wrote (descriptions with their defaults filled in, footers, option names and labels, the
     * subcommands' descriptions) and of the synopsis. A word broken across two lines prints two
     * pieces that are not words of the source.
     */
    private static Set<String> sourceWords(CommandLine cl) {
        CommandSpec spec = cl.getCommandSpec();
        spec.usageMessage().width(Short.MAX_VALUE); // the synopsis on one line: its words as picocli makes them
        CommandLine.Help help = cl.getHelp();
        StringBuilder src = new StringBuilder();
        src.append(help.synopsis(0)).append(' ').append(help.synopsisHeading()).append(' ').append(help.commandListHeading());
        for (String s : spec.usageMessage().description()) src.append(' ').append(format(s));
        for (String s : spec.usageMessage().footer()) src.append(' ').append(format(s));
        src.append(' ').append(format(spec.usageMessage().footerHeading()));
        List<ArgSpec> args = new ArrayList<>(spec.options());
        args.addAll(spec.positionalParameters());
        for (ArgSpec a : args) {
            src.append(' ').append(String.join(" ", a.renderedDescription())).append(' ').append(a.paramLabel());
            if (a instanceof OptionSpec o) src.append(' ').append(HelpLayout.names(o)).append(' ').append(String.join(" ", o.names()));
        }
        for (CommandLine sub : cl.getSubcommands().values()) {
            src.append(' ').append(sub.getCommandName());
            for (String s : sub.getCommandSpec().usageMessage().description()) src.append(' ').append(format(s));
            for (String s : sub.getCommandSpec().usageMessage().header()) src.append(' ').append(format(s));
        }
        return new HashSet<>(Arrays.asList(src.toString().trim().split("\\s+")));
    }

    private static String format(String s) {
        return String.format(s.replace("%n", "\n").replace("%", "%%"));
    }

    @Test
    void everyHelpWrapsAtSpacesFitsTheWidthAndNamesNoInternalClass() {
        List<CommandLine> all = allCommands();
        assertThat(all).hasSizeGreaterThan(12);
        List<String> problems = new ArrayList<>();
        for (CommandLine cl : all) {
            String name = cl.getCommandSpec().qualifiedName();
            String help = help(cl);
            for (String line : help.lines().toList())
                if (line.length() > HelpLayout.WIDTH) problems.add(name + ": line over " + HelpLayout.WIDTH + " columns: " + line);
            Set<String> words = sourceWords(cl);
            for (String w : help.trim().split("\\s+"))
                if (!words.contains(w)) problems.add(name + ": '" + w + "' is a piece of a word broken across lines");
            Matcher m = CAMEL_CASE.matcher(help);
            while (m.find()) if (!PRODUCT_NAMES.contains(m.group())) problems.add(name + " names an internal class: " + m.group());
            if (Pattern.compile("<[a-z][A-Za-z]*>").matcher(help).find()) problems.add(name + ": picocli's default labels like <maxTokens>");
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void everyCommandHasAWholeFirstSentenceTheDefaultsAndAnExample() {
        List<String> problems = new ArrayList<>();
        for (CommandLine cl : allCommands()) {
            String name = cl.getCommandSpec().qualifiedName();
            String help = help(cl);
            if (!Pattern.compile("\\n  grok ").matcher(help).find()) problems.add(name + " has no example");
            for (String ex : cl.getCommandSpec().usageMessage().footer())
                if (ex.startsWith("  grok ") && ex.length() > HelpLayout.WIDTH) problems.add(name + ": an example wider than the help: " + ex);
            String first = cl.getCommandSpec().usageMessage().description()[0];
            if (!first.endsWith(".")) problems.add(name + ": the first line (the command list's) is not a whole sentence: " + first);
            if (first.length() > 84) problems.add(name + ": the first line is too long for the command list: " + first);
            for (OptionSpec o : cl.getCommandSpec().options()) {
                String d = String.join(" ", o.renderedDescription());
                if (o.defaultValue() != null && !o.usageHelp() && !o.versionHelp() && o.arity().max() > 0
                        && !(d.toLowerCase(java.util.Locale.ROOT).contains("default") && d.contains(o.defaultValue())))
                    problems.add(name + " " + o.longestName() + " does not show its default " + o.defaultValue());
            }
        }
        assertThat(problems).isEmpty();
        String verify = GrokCli.newCommandLine().getSubcommands().get("verify").getUsageMessage();
        assertThat(verify).contains("Default bounds by threshold family", "lossless", "int4", "docs/SCHEMAS.md");
    }

    @Test
    void theWrappingNeverSplitsAWord() {
        String text = "see manifest.json and docs/FORMAT.md, or conversion-report.json for the error of every tensor";
        for (int width = 20; width < 40; width++) {
            List<String> lines = HelpLayout.wrap(text, width);
            assertThat(String.join(" ", lines)).isEqualTo(text);
            for (String l : lines) assertThat(l.length() <= width || !l.contains(" ")).as(l).isTrue();
        }
        assertThat(HelpLayout.wrap("a-very-long-word-without-spaces x", 10)).containsExactly("a-very-long-word-without-spaces", "x");
    }

    @Test
    void aLongPlainLineCarriesIntoTheNextAndAnIndentedOneWrapsUnderItself() {
        String longLine = "word ".repeat(25).strip(); // 124 columns
        String out = HelpLayout.lines(new String[]{longLine, "end of the sentence.", "  grok example " + "x ".repeat(50).strip(), "Next."});
        List<String> lines = out.lines().toList();
        assertThat(lines.get(0)).hasSizeLessThanOrEqualTo(HelpLayout.WIDTH);
        assertThat(lines.get(1)).endsWith("word end of the sentence.");
        assertThat(lines.get(2)).startsWith("  grok example x");
        assertThat(lines.get(3)).startsWith("    x");
        assertThat(lines.getLast()).isEqualTo("Next.");
        for (String l : lines) assertThat(l).hasSizeLessThanOrEqualTo(HelpLayout.WIDTH);
    }

    @Test
    void commandsAreListedInWorkflowOrder() {
        CommandLine cl = GrokCli.newCommandLine();
        assertThat(List.copyOf(cl.getSubcommands().keySet()))
                .containsExactly("convert", "check", "inspect", "run", "logits", "tokenize", "verify", "golden", "export",
                        "imatrix", "quant-eval", "bench", "help");
        assertThat(help(cl)).contains("Commands (in workflow order):");
    }

    /** What {@code main} builds (only the named command in full) prints what the full command line prints. */
    @Test
    void theLazilyBuiltCommandLineAnswersAsTheFullOne() {
        List<String[]> cases = new ArrayList<>(List.of(new String[]{"--help"}, new String[]{"-V"}, new String[]{}, new String[]{"convet"},
                new String[]{"help", "run"}, new String[]{"run", "m", "--promt", "x"}, new String[]{"bench", "kernels", "--help"}));
        for (CommandLine cl : GrokCli.newCommandLine().getSubcommands().values()) cases.add(new String[]{cl.getCommandName(), "--help"});
        for (String[] args : cases) {
            java.io.StringWriter fullOut = new java.io.StringWriter(), fullErr = new java.io.StringWriter();
            java.io.StringWriter lazyOut = new java.io.StringWriter(), lazyErr = new java.io.StringWriter();
            CommandLine full = GrokCli.newCommandLine(), lazy = GrokCli.newCommandLine(args);
            full.setOut(new java.io.PrintWriter(fullOut)).setErr(new java.io.PrintWriter(fullErr));
            lazy.setOut(new java.io.PrintWriter(lazyOut)).setErr(new java.io.PrintWriter(lazyErr));
            String what = String.join(" ", args);
            assertThat(lazy.execute(args)).as(what).isEqualTo(full.execute(args));
            assertThat(lazyOut.toString()).as(what).isEqualTo(fullOut.toString());
            assertThat(lazyErr.toString()).as(what).isEqualTo(fullErr.toString());
        }
        assertThat(GrokCli.newCommandLine("run", "--help").getSubcommands().get("convert").getCommandSpec().options()).as("a stub").isEmpty();
    }

    /** Issue 10: scripts call export with these names; the shared mixins must keep them. */
    @Test
    void exportAndGoldenCreateKeepTheOptionNamesScriptsUse() {
        CommandLine cl = GrokCli.newCommandLine();
        CommandSpec export = cl.getSubcommands().get("export").getCommandSpec();
        for (String name : List.of("--type", "--attention-type", "--embedding-type", "--model-config", "--tokenizer", "--imatrix",
                "--split-max-size", "--threads", "--quiet", "--infer-config"))
            assertThat(export.findOption(name)).as("export " + name).isNotNull();
        CommandSpec create = cl.getSubcommands().get("golden").getSubcommands().get("create").getCommandSpec();
        for (String name : List.of("--tokens", "--text", "--tokenizer", "--chunk", "--out", "--threads", "--quiet"))
            assertThat(create.findOption(name)).as("golden create " + name).isNotNull();
    }
}
