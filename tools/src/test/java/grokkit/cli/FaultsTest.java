package grokkit.cli;

import grokkit.io.OutputFiles;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: faults that are not bad input in the usual sense (a shard truncated under a running
 * forward pass, running out of memory, special files as inputs or outputs, a full disk) each end
 * in a one-line message naming the file, the documented exit code, and no stack trace.
 */
class FaultsTest {
    record Run(int code, String out, String err) {
        void assertNoStackTrace() {
            assertThat(err).doesNotContain("Exception in thread").doesNotContain("\tat ").doesNotContain("internal error");
        }
    }

    static Run run(String... args) {
        StringWriter err = new StringWriter(), out = new StringWriter();
        CommandLine cl = GrokCli.newCommandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** The CLI in a fresh JVM (the real main and its exit code), with {@code mainClass} as the entry point. */
    static Run subprocess(String mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        Path outFile = Files.createTempFile("grok-sub", ".out"), errFile = Files.createTempFile("grok-sub", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(outFile.toFile()).redirectError(errFile.toFile()).start();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("subprocess finished").isTrue();
            return new Run(p.exitValue(), Files.readString(outFile), Files.readString(errFile));
        } finally {
            Files.deleteIfExists(outFile);
            Files.deleteIfExists(errFile);
        }
    }

    private static Path model(Path tmp) {
        return LogitsCommandTest.convert(LogitsCommandTest.fixture("tiny-np2-p5"), tmp.resolve("model"));
    }

    private static Path shard(Path model) throws IOException {
        try (var s = Files.list(model)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".bin")).findFirst().orElseThrow();
        }
    }

    @Test
    void shardTruncatedUnderARunningForwardPassIsNamedWithBothSizes(@TempDir Path tmp) throws Exception {
        Path model = model(tmp);
        Path shard = shard(model);
        long size = Files.size(shard);
        Path out = tmp.resolve("l.npy");
        Run r = subprocess(TruncatingCli.class.getName(), "logits", model.toString(), "--tokens", "5,17,99,3", "--out", out.toString(),
                "--threads", "2");
        assertThat(r.code).as(r.err).isEqualTo(2);
        assertThat(r.err).contains(shard.toAbsolutePath().toString() + " changed size while in use (was " + size + " bytes, now " + size / 2 + ")");
        r.assertNoStackTrace();
        assertThat(out).doesNotExist();
    }

    @Test
    void outOfMemoryIsAMessageWithAHintNotATrace() {
        StringWriter sw = new StringWriter();
        int code = Faults.report(new OutOfMemoryError("Java heap space"), new PrintWriter(sw), "logits");
        assertThat(code).isEqualTo(2);
        assertThat(sw.toString()).startsWith("grok logits: error: out of memory (Java heap space; Java heap limit ")
                .contains("Hint:").doesNotContain("\tat ");
        sw = new StringWriter();
        code = Faults.report(new RuntimeException("wrapped", new OutOfMemoryError("unable to create native thread")), new PrintWriter(sw), "run");
        assertThat(code).isEqualTo(2);
        assertThat(sw.toString()).contains("fewer --threads");
    }

    @Test
    void aGenuineInternalFaultStillExitsThreeWithATrace() {
        StringWriter sw = new StringWriter();
        assertThat(Faults.report(new IllegalStateException("bug"), new PrintWriter(sw), "x")).isEqualTo(3);
        assertThat(sw.toString()).contains("internal error (please report)").contains("\tat ");
        sw = new StringWriter();
        assertThat(Faults.report(new InternalError("something else"), new PrintWriter(sw), "x")).isEqualTo(3);
    }

    @Test
    void anErrorThrownByACommandIsReportedByTheHandler(@TempDir Path tmp) throws Exception {
        Path model = model(tmp);
        ModelDirs.afterOpen = dir -> { throw new OutOfMemoryError("Java heap space"); };
        try {
            Run r = run("logits", model.toString(), "--tokens", "5", "--out", tmp.resolve("l.npy").toString());
            assertThat(r.code).isEqualTo(2);
            assertThat(r.err).contains("out of memory");
            r.assertNoStackTrace();
        } finally {
            ModelDirs.afterOpen = dir -> {};
        }
    }

    @Test
    void manifestThatIsASymlinkToDevZeroIsRefusedNotRead(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero: skipping");
        Path model = model(tmp);
        Path manifest = model.resolve("manifest.json");
        Files.delete(manifest);
        Files.createSymbolicLink(manifest, Path.of("/dev/zero"));
        for (String cmd : List.of("check", "logits")) {
            Run r = cmd.equals("check") ? run("check", model.toString())
                    : run("logits", model.toString(), "--tokens", "5", "--out", tmp.resolve("l.npy").toString());
            assertThat(r.code).as(cmd + ": " + r.err).isEqualTo(2);
            assertThat(r.err).contains(manifest.toString()).contains("character device").contains("not a regular file");
            r.assertNoStackTrace();
        }
    }

    static boolean mkfifo(Path p) {
        try {
            Process pr = new ProcessBuilder("mkfifo", p.toString()).start();
            return pr.waitFor(10, TimeUnit.SECONDS) && pr.exitValue() == 0 && Files.exists(p);
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void aFifoAsManifestOrTokenizerIsRefusedWithoutOpeningIt(@TempDir Path tmp) throws Exception {
        Path model = model(tmp);
        Path manifest = model.resolve("manifest.json");
        Path saved = tmp.resolve("manifest.saved");
        Files.move(manifest, saved);
        Assumptions.assumeTrue(mkfifo(manifest), "mkfifo unavailable: skipping");
        Run r = run("check", model.toString()); // would block forever if the FIFO were opened
        assertThat(r.code).as(r.err).isEqualTo(2);
        assertThat(r.err).contains(manifest.toString()).contains("FIFO");
        r.assertNoStackTrace();

        Path fifo = tmp.resolve("tok.fifo");
        Assumptions.assumeTrue(mkfifo(fifo));
        Path fixture = LogitsCommandTest.fixture("tiny-np2-p5");
        r = run("convert", fixture.resolve("ckpt-0").toString(), tmp.resolve("out").toString(),
                "--model-config", fixture.resolve("config.json").toString(), "--tokenizer", fifo.toString());
        assertThat(r.code).as(r.err).isEqualTo(2);
        assertThat(r.err).contains(fifo.toString()).contains("FIFO");
        r.assertNoStackTrace();
        r = run("convert", fixture.resolve("ckpt-0").toString(), tmp.resolve("out2").toString(), "--model-config", fifo.toString());
        assertThat(r.code).as(r.err).isEqualTo(2);
        assertThat(r.err).contains(fifo.toString()).contains("FIFO");
    }

    /** A character device (mknod, when permitted) or else a FIFO: an output path that is not a regular file. */
    static Path specialFile(Path dir) throws Exception {
        Path dev = dir.resolve("null-device");
        try {
            Process p = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").start();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && Files.exists(dev, LinkOption.NOFOLLOW_LINKS)) return dev;
        } catch (IOException e) {
            // fall through
        }
        Path fifo = dir.resolve("a-fifo");
        Assumptions.assumeTrue(mkfifo(fifo), "neither mknod nor mkfifo available: skipping");
        return fifo;
    }

    @Test
    void logitsOutNamingADeviceIsRefusedAndTheDeviceStays(@TempDir Path tmp) throws Exception {
        Path model = model(tmp);
        Path dev = specialFile(tmp);
        Run r = run("logits", model.toString(), "--tokens", "5,17", "--out", dev.toString());
        assertThat(r.code).as(r.err).isEqualTo(2);
        assertThat(r.err).contains("--out " + dev).contains("refusing to replace it");
        r.assertNoStackTrace();
        assertThat(Files.isRegularFile(dev, LinkOption.NOFOLLOW_LINKS)).as("the special file is still there, not replaced").isFalse();
        assertThat(Files.exists(dev, LinkOption.NOFOLLOW_LINKS)).isTrue();
    }

    @Test
    void aFullDiskUnderLogitsOutNamesTheFile(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/full")), "no /dev/full: skipping");
        Path model = model(tmp);
        Path out = tmp.resolve("l.npy");
        // Every output channel writes to /dev/full: each write fails with ENOSPC, as on a full disk.
        OutputFiles.useOpener((file, options) -> {
            Files.createFile(file);
            return FileChannel.open(Path.of("/dev/full"), StandardOpenOption.WRITE);
        });
        try {
            Run r = run("logits", model.toString(), "--tokens", "5,17", "--out", out.toString());
            assertThat(r.code).as(r.err).isEqualTo(2);
            assertThat(r.err).contains(out.toString()).contains("No space left on device");
            r.assertNoStackTrace();
        } finally {
            OutputFiles.useOpener(null);
        }
        assertThat(out).doesNotExist();
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("model"); // no temporary left behind
        }
    }

    @Test
    void anOversizedShardSizeIsABadOptionNotACrash(@TempDir Path tmp) {
        Path fixture = LogitsCommandTest.fixture("tiny-np2-p5");
        for (String size : List.of("99999999999999999999", "9999999TiB", "-5", "0x10")) {
            Run r = run("convert", fixture.resolve("ckpt-0").toString(), tmp.resolve("o").toString(), "--shard-size", size);
            assertThat(r.code).as(size + ": " + r.err).isEqualTo(2);
            assertThat(r.err).contains("--shard-size");
            r.assertNoStackTrace();
        }
    }

}
