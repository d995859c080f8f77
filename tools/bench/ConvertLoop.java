import grokkit.convert.*;
import grokkit.model.ModelConfig;
import java.io.*;
import java.nio.file.*;
import java.lang.management.ManagementFactory;

/** Converts a fixture N times in one JVM (past JIT warm-up) and prints wall and process CPU per conversion. */
public class ConvertLoop {
    public static void main(String[] a) throws Exception {
        Path fx = Path.of(a[0]); String experts = a[1]; int n = Integer.parseInt(a[2]);
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ConvertOptions o = ConvertOptions.defaults().withThreads(2).withExperts(experts);
        for (int i = 0; i < n; i++) {
            Path out = Files.createTempDirectory("enc-loop");
            long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
            try (CheckpointSource src = CheckpointSource.open(fx.resolve("ckpt-0"), ModelConfig.read(fx.resolve("config.json"), ModelConfig.grok1()))) {
                new Converter(o, new PrintWriter(new StringWriter()), false, ConvertHooks.NONE).convert(src, out);
            }
            long t1 = System.nanoTime(), c1 = os.getProcessCpuTime();
            System.out.printf("%s %d wall %.3f s cpu %.3f s%n", experts, i, (t1 - t0) / 1e9, (c1 - c0) / 1e9);
            try (var s = Files.walk(out)) { s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete()); }
        }
    }
}
