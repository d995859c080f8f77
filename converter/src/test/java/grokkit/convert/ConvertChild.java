package grokkit.convert;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * A converter process for {@link KillMidShardTest}: converts a fixture and, once it has written
 * part of the shard named by the last argument, prints {@code MIDSHARD} and waits to be killed.
 * Args: FIXTURE_DIR OUT_DIR SHARD_SIZE VICTIM_SHARD_FILE
 */
public final class ConvertChild {
    public static void main(String[] args) throws Exception {
        Path fixture = Path.of(args[0]);
        String victim = args[3];
        ConvertHooks pauseMidShard = new ConvertHooks() {
            @Override
            public void afterWrite(String shard, long position) {
                if (!shard.equals(victim)) return;
                System.out.println("MIDSHARD " + position);
                System.out.flush();
                try {
                    Thread.sleep(120_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                Runtime.getRuntime().halt(3); // never reached when the test kills us
            }
        };
        ConvertOptions o = ConvertOptions.defaults().withThreads(2).withShardSize(Long.parseLong(args[2]));
        try (CheckpointSource src = FixtureConversionTest.open(fixture)) {
            new Converter(o, new PrintWriter(System.out, true), false, pauseMidShard).convert(src, Path.of(args[1]));
        }
        Runtime.getRuntime().halt(4); // the conversion must not complete
    }
}
