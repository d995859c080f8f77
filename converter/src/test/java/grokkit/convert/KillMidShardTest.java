package grokkit.convert;

import grokkit.shard.Manifest;
import grokkit.shard.ModelChecker;
import grokkit.shard.ShardWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kills a real converter process (SIGKILL) while it is in the middle of writing a shard, then
 * resumes in this JVM: the result must be byte-identical to an uninterrupted conversion.
 */
class KillMidShardTest {
    @TempDir
    Path tmp;

    @Test
    void killedMidShardThenResumedEqualsUninterrupted() throws Exception {
        Path fixture = FixtureConversionTest.root().resolve("golden-tests/fixtures/tiny-np1-p5");
        long shardSize = 128 * 1024;
        ConvertOptions o = ConvertOptions.defaults().withThreads(2).withShardSize(shardSize);
        Path clean = tmp.resolve("clean"), killed = tmp.resolve("killed");
        Converter.Result r;
        try (CheckpointSource src = FixtureConversionTest.open(fixture)) {
            r = FixtureConversionTest.convert(src, clean, o);
        }
        assertThat(r.manifest().shards()).hasSizeGreaterThanOrEqualTo(4);
        String victim = r.manifest().shards().get(2).file();

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), ConvertChild.class.getName(),
                fixture.toString(), killed.toString(), Long.toString(shardSize), victim));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String line;
        StringBuilder log = new StringBuilder();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            while ((line = in.readLine()) != null) {
                log.append(line).append('\n');
                if (line.startsWith("MIDSHARD")) break;
            }
            assertThat(line).as("child output:\n%s", log).isNotNull();
            p.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(killed.resolve(Manifest.FILE_NAME)).doesNotExist();
        assertThat(killed.resolve(victim + ShardWriter.PARTIAL_SUFFIX)).exists();
        assertThat(killed.resolve(victim)).doesNotExist();
        assertThat(killed.resolve(r.manifest().shards().get(1).file())).exists();

        Converter.Result resumed;
        try (CheckpointSource src = FixtureConversionTest.open(fixture)) {
            resumed = FixtureConversionTest.convert(src, killed, o.withResume(true));
        }
        assertThat(resumed.shardsReused()).isEqualTo(2);
        ConverterTest.assertSameFiles(clean, killed);
        assertThat(ModelChecker.check(killed).ok()).isTrue();
    }
}
