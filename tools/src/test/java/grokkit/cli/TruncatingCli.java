package grokkit.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

/**
 * {@code grok} with a fault injected at a fixed point: once the model directory is mapped and
 * before any command reads it, every shard is truncated to half its length (what another
 * program rewriting the model would do). Run as a subprocess by {@link FaultsTest}, so that
 * the real {@code main} (exit code, uncaught-exception handling) is what is tested.
 */
public final class TruncatingCli {
    public static void main(String[] args) {
        ModelDirs.afterOpen = TruncatingCli::truncateShards;
        GrokCli.main(args);
    }

    static void truncateShards(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".bin")).toList()) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.truncate(ch.size() / 2);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
