package grokkit.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ./grok launcher as a user starts it, in a child process: UTF-8 arguments under the C
 * locale ({@code env -i}), through a symlink, and no JVM warnings on stderr. The classes under
 * test are run through GROK_CLASSPATH (the jar is built after the tests).
 */
class LauncherTest {
    static final Path ROOT = Path.of(System.getProperty("grok.root", "..")).toAbsolutePath().normalize();
    static final Path LAUNCHER = ROOT.resolve("grok");
    static final String TEXT = "héllo wörld 你好 😀";

    @TempDir
    static Path dir;
    static Path model;

    record Run(int code, String out, String err) {}

    @BeforeAll
    static void convert() {
        model = dir.resolve("model");
        TokenizeCommandTest.Result r = TokenizeCommandTest.run("convert", SharedOptionsTest.CKPT.toString(), model.toString(),
                "--model-config", SharedOptionsTest.CONFIG.toString(), "--tokenizer", RunCommandTest.TOKENIZER.toString(), "--threads", "1", "--quiet");
        assertThat(r.code()).as(r.err()).isZero();
    }

    /** Runs the launcher with only PATH, JAVA_HOME and GROK_CLASSPATH set (as `env -i`), plus {@code extra}. */
    static Run launch(Path launcher, Map<String, String> extra, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(launcher.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("GROK_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().putAll(extra);
        Path out = Files.createTempFile(dir, "out", ".txt"), err = Files.createTempFile(dir, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("launcher finished").isTrue();
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void nonAsciiArgumentsGiveTheSameIdsUnderTheCLocaleAsUnderUtf8() throws Exception {
        String tok = RunCommandTest.TOKENIZER.toString();
        Run c = launch(LAUNCHER, Map.of(), "tokenize", "--tokenizer", tok, TEXT, "--pieces");
        Run utf8 = launch(LAUNCHER, Map.of("LANG", "C.UTF-8"), "tokenize", "--tokenizer", tok, TEXT, "--pieces");
        Run posix = launch(LAUNCHER, Map.of("LC_ALL", "POSIX"), "tokenize", "--tokenizer", tok, TEXT, "--pieces");
        assertThat(utf8.code()).as(utf8.err()).isZero();
        assertThat(c.out()).isEqualTo(utf8.out()).isEqualTo(posix.out());
        assertThat(c.out()).doesNotContain("<0xEF>").as("no U+FFFD replacement bytes");
        // the same ids in-process (Java strings, no locale involved)
        TokenizeCommandTest.Result inProcess = TokenizeCommandTest.run("tokenize", "--tokenizer", tok, TEXT, "--pieces");
        assertThat(c.out()).isEqualTo(inProcess.out());
        // and the decoded text comes back on stdout as UTF-8
        String ids = c.out().lines().findFirst().orElseThrow();
        Run back = launch(LAUNCHER, Map.of(), "tokenize", "--tokenizer", tok, "--decode", ids.replace(' ', ','));
        assertThat(back.out().strip()).isEqualTo(TEXT);

        Run runC = launch(LAUNCHER, Map.of(), "run", model.toString(), "--prompt", TEXT, "--max-tokens", "2", "--show-ids", "--threads", "1");
        Run runUtf8 = launch(LAUNCHER, Map.of("LANG", "C.UTF-8"), "run", model.toString(), "--prompt", TEXT, "--max-tokens", "2", "--show-ids", "--threads", "1");
        assertThat(runC.code()).as(runC.err()).isZero();
        String promptIds = runUtf8.err().lines().filter(l -> l.startsWith("prompt ids: ")).findFirst().orElseThrow();
        assertThat(runC.err()).contains(promptIds);
        assertThat(promptIds).contains(ids);
        assertThat(runC.out()).startsWith(TEXT);
    }

    @Test
    void aSymlinkedLauncherFindsItsInstallation(@TempDir Path tmp) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path link = bin.resolve("grok");
        Files.createSymbolicLink(link, LAUNCHER);
        Path chained = Files.createSymbolicLink(tmp.resolve("g2"), Path.of("bin/grok")); // relative link to a link
        for (Path l : new Path[]{link, chained}) {
            Run r = launch(l, Map.of(), "--version");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("grok-kit ").contains("Java ", "Vector API: ");
            assertThat(r.err()).doesNotContain("No such file");
        }
    }

    @Test
    void noWarningLinesOnStderrForHelpInspectAndLogits() throws Exception {
        Run help = launch(LAUNCHER, Map.of(), "--help");
        Run inspect = launch(LAUNCHER, Map.of(), "inspect", SharedOptionsTest.CKPT.toString());
        Run logits = launch(LAUNCHER, Map.of(), "logits", model.toString(), "--tokens", "5,17", "--out", dir.resolve("l.npy").toString(), "--threads", "1");
        for (Run r : new Run[]{help, inspect, logits}) {
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.err()).doesNotContain("WARNING");
        }
        assertThat(help.out()).contains("Commands (in workflow order):");
        // errors still reach stderr through the filter
        Run bad = launch(LAUNCHER, Map.of(), "run", model.toString(), "--threads", "0", "--prompt", "x");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--threads: must be between 1 and").doesNotContain("WARNING");
    }

    /**
     * Ctrl-C (SIGINT to the JVM, as a terminal sends it) during convert: the hint to continue with
     * --resume is printed, the exit is not 0, and no manifest exists. The signal is sent as soon as
     * the command says which configuration it converts with, which is printed just before the
     * conversion starts; the q4nl conversion on one thread takes far longer than that.
     */
    @Test
    void ctrlCDuringConvertPrintsTheResumeHint(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("interrupted");
        ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "convert", SharedOptionsTest.CKPT.toString(), out.toString(),
                "--model-config", SharedOptionsTest.CONFIG.toString(), "--experts", "int4", "--threads", "1", "--shard-size", "128KiB");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("GROK_CLASSPATH", System.getProperty("java.class.path"));
        Path err = tmp.resolve("err.txt");
        pb.redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(err.toFile());
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(err, StandardCharsets.UTF_8).contains("model configuration: ") && p.isAlive() && System.nanoTime() < deadline)
            Thread.sleep(5);
        assertThat(p.isAlive()).as("convert still running when the configuration line appeared:\n" + Files.readString(err)).isTrue();
        // the launcher execs the JVM, so the process is the JVM
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
        assertThat(kill.waitFor()).isZero();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String e = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(e).isNotZero();
        assertThat(e).contains("grok convert: interrupted; completed shards are kept. Continue with the same command and --resume:",
                "grok convert " + SharedOptionsTest.CKPT + " " + out + " [the same options] --resume");
        assertThat(out.resolve("manifest.json")).doesNotExist();
    }
}
