package grokkit.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class BenchCommandTest {

    @Test
    void benchWithoutAModeIsAUsageError() {
        assertThat(GrokCli.run("bench")).isEqualTo(2);
    }

    @Test
    void kernelsRejectsAnUnknownEncodingNamingTheOption() {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            assertThat(GrokCli.run("bench", "kernels", "--encodings", "q5", "--shapes", "64x32")).isEqualTo(2);
        } finally {
            System.setErr(err);
        }
        assertThat(buf.toString()).contains("--encodings").contains("q5");
    }

    @Test
    void kernelsRejectsABadShape() {
        assertThat(GrokCli.run("bench", "kernels", "--shapes", "64by32")).isEqualTo(2);
        assertThat(GrokCli.run("bench", "kernels", "--encodings", "q4:32:bf16", "--shapes", "48x16")).isEqualTo(2);
    }

    /** A tiny end-to-end run: every encoding, both table kinds, Markdown written atomically. */
    @Test
    void kernelsRunsOnTinyShapesAndWritesTheTable(@TempDir Path dir) throws Exception {
        Path md = dir.resolve("k.md");
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        int code;
        try {
            code = GrokCli.run("bench", "kernels", "--shapes", "128x64", "--cold-mb", "1", "--repeats", "2",
                    "--prefill-tokens", "5", "--prefill-repeats", "1", "--threads", "1", "--warmup-seconds", "0",
                    "--markdown", md.toString());
        } finally {
            System.setOut(out);
        }
        assertThat(code).isZero();
        String text = Files.readString(md);
        for (String enc : new String[]{"| int8-rowblock |", "| q8:32:f16 |", "| q4:32:bf16 |", "| q4_0 |", "| bf16 |", "| f32 |"}) {
            assertThat(text).contains(enc);
        }
        assertThat(text).contains("read GB/s").contains("prefill T=5 ms").contains("weights/s =");
        assertThat(buf.toString()).contains("128→64");
        assertThat(Files.list(dir)).containsExactly(md);
    }
}
