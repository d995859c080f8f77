package grokkit.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class BenchModelCommandTest {
    /** Runs the CLI with System.out captured (the benchmarks print their tables there). */
    private static String run(int expectedExit, String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertThat(GrokCli.run(args)).isEqualTo(expectedExit);
        } finally {
            System.setOut(saved);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void decodeAndPrefillSmokeOnTheMiniShape() {
        String d = run(0, "bench", "decode", "--shape", "mini", "--encoding", "q4_0", "--prompt", "4", "--warmup", "1",
                "--tokens", "2", "--probe-mb", "8", "--threads", "2");
        assertThat(d).contains("tokens/s").contains("GB/s").contains("| decode | mini q4_0 | 2 | 2 |");
        String p = run(0, "bench", "prefill", "--shape", "mini", "--encoding", "int8", "--prompt", "8", "--repeats", "1",
                "--probe-mb", "8", "--threads", "2", "--project-layers", "64");
        assertThat(p).contains("8-token prompt").contains("projected to 64 layers").contains("| prefill | mini int8 | 2 | 2 |");
    }

    @Test
    void badOptionsAreUsageErrors() {
        run(2, "bench", "decode", "--shape", "huge");
        run(2, "bench", "prefill", "--shape", "mini", "--encoding", "q3");
        run(2, "bench", "decode", "--shape", "mini", "--threads", "0");
    }
}
