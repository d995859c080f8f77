package grokkit.cli;

import grokkit.errors.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LogitsCommandTest {
    private static int run(StringWriter err, String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    @Test
    void parsesCommaSeparatedTokenIds() throws Exception {
        assertThat(LogitsCommand.parseTokens("5,17,99")).containsExactly(5, 17, 99);
        assertThat(LogitsCommand.parseTokens(" 5, 17 ,99 ")).containsExactly(5, 17, 99);
        assertThatThrownBy(() -> LogitsCommand.parseTokens("")).isInstanceOf(BadInputException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> LogitsCommand.parseTokens("5,,6")).isInstanceOf(BadInputException.class).hasMessageContaining("item 2");
        assertThatThrownBy(() -> LogitsCommand.parseTokens("5,x")).isInstanceOf(BadInputException.class).hasMessageContaining("'x'");
        assertThatThrownBy(() -> LogitsCommand.parseTokens("-3")).isInstanceOf(BadInputException.class).hasMessageContaining("negative");
    }

    @Test
    void badModelDirectoryOrTokensExitWithTwoAndLeaveNoOutput(@TempDir Path tmp) {
        Path out = tmp.resolve("l.npy");
        StringWriter err = new StringWriter();
        assertThat(run(err, "logits", tmp.resolve("nope").toString(), "--tokens", "1,2", "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("no such directory");
        err = new StringWriter();
        assertThat(run(err, "logits", tmp.toString(), "--tokens", "", "--out", out.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("--tokens").contains("empty");
        assertThat(out).doesNotExist();
    }

    @Test
    void writesNumpyVersion1Float32CArrays(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("x.npy");
        NpyFiles.writeFloat32(out, new float[][] {{1f, -2.5f, 3f}, {4f, 5f, Float.NaN}});
        byte[] b = Files.readAllBytes(out);
        assertThat(b[0] & 0xff).isEqualTo(0x93);
        assertThat(new String(b, 1, 5, StandardCharsets.US_ASCII)).isEqualTo("NUMPY");
        assertThat(b[6]).isEqualTo((byte) 1);
        assertThat(b[7]).isEqualTo((byte) 0);
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertThat((10 + headerLen) % 64).isZero();
        String header = new String(b, 10, headerLen, StandardCharsets.US_ASCII);
        assertThat(header).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }").endsWith("\n");
        assertThat(b.length).isEqualTo(10 + headerLen + 6 * 4);
        ByteBuffer data = ByteBuffer.wrap(b, 10 + headerLen, 24).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.getFloat()).isEqualTo(1f);
        assertThat(data.getFloat()).isEqualTo(-2.5f);
        assertThat(data.getFloat()).isEqualTo(3f);
        assertThat(data.getFloat()).isEqualTo(4f);
        try (var files = Files.list(tmp)) {
            assertThat(files).containsExactly(out); // no temporary file left behind
        }
    }
}
