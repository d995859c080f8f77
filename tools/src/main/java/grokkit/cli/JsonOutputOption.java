package grokkit.cli;

import grokkit.errors.BadInputException;
import picocli.CommandLine.IParameterPreprocessor;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Stack;

/**
 * {@code --json [FILE|-]}: where a command writes its JSON document. {@code -}, or {@code --json}
 * with no file, is stdout; the human-readable output then goes to stderr, so stdout is one JSON
 * document. Files are written under a temporary name and renamed into place.
 */
public final class JsonOutputOption {
    /** The value meaning stdout. */
    public static final String STDOUT = "-";

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private String target;

    @Option(names = "--json", arity = "0..1", paramLabel = "FILE|-", preprocessor = OptionalFile.class,
            description = "Write the result as JSON (schema: docs/SCHEMAS.md) to FILE, or to stdout with - or no FILE.")
    void setTarget(String t) {
        String v = t == null || t.isEmpty() ? STDOUT : t;
        if (!v.equals(STDOUT)) {
            Path p = Path.of(v);
            if (Files.isDirectory(p)) throw new ParameterException(mixee.commandLine(), "--json " + v + ": is a directory, expected a file name or - (stdout)");
            Path parent = p.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent))
                throw new ParameterException(mixee.commandLine(), "--json " + v + ": no such directory " + parent);
        }
        target = v;
    }

    /** Whether --json was given. */
    public boolean given() {
        return target != null;
    }

    /** Whether the JSON goes to stdout. */
    public boolean toStdout() {
        return STDOUT.equals(target);
    }

    /** The file to write, or null (not given, or stdout). */
    public Path file() {
        return target == null || toStdout() ? null : Path.of(target);
    }

    /** Writes {@code json} to stdout or the file. */
    public void write(String json, PrintWriter stdout) throws IOException {
        if (target == null) return;
        if (toStdout()) {
            stdout.println(json);
            stdout.flush();
            return;
        }
        writeFile(Path.of(target), json);
    }

    /** Writes a text file under a temporary name, then renames it: never a half-written file under the final name. */
    static void writeFile(Path p, String text) throws IOException {
        Path tmp = p.resolveSibling(p.getFileName() + ".partial");
        try {
            Files.writeString(tmp, text.endsWith("\n") ? text : text + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * {@code --json} takes the next word as its file unless that word is another option or an
     * existing directory (the command's MODEL_DIR/CKPT_DIR): {@code grok inspect --json ckpt-0}
     * prints JSON to stdout. {@code --json=FILE} always names a file.
     */
    public static final class OptionalFile implements IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec spec, ArgSpec arg, Map<String, Object> info) {
            Object sep = info.get("separator"); // " " when the value is a separate word, "=" when attached
            if (sep != null && !sep.toString().isBlank()) return false;
            if (args.isEmpty() || isOtherOption(args.peek()) || isDirectory(args.peek())) {
                arg.setValue(STDOUT);
                return true;
            }
            return false;
        }

        private static boolean isDirectory(String word) {
            try {
                return Files.isDirectory(Path.of(word));
            } catch (java.nio.file.InvalidPathException e) {
                return false;
            }
        }

        private static boolean isOtherOption(String word) {
            return word.startsWith("-") && !word.equals(STDOUT);
        }
    }
}
