package grokkit.cli;

import grokkit.errors.ExitCodes;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.shard.Manifest;
import grokkit.shard.ShardedModel;
import grokkit.shard.TensorRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code grok convert} and {@code grok check} end to end on a committed fixture: exit codes and messages. */
class ConvertCommandTest {
    @TempDir
    Path tmp;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    static final Path FIXTURE = Path.of(System.getProperty("grok.root", ".")).resolve("golden-tests/fixtures/tiny-np2-p5");

    private int run(String... args) {
        CommandLine cl = GrokCli.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    private int convert(Path outDir, String... extra) {
        String[] base = {"convert", FIXTURE.resolve("ckpt-0").toString(), outDir.toString(),
                "--model-config", FIXTURE.resolve("config.json").toString(), "--threads", "2", "--shard-size", "128KiB"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return run(all);
    }

    @Test
    void convertsChecksAndOpensAsModelWeights() throws IOException {
        Path model = tmp.resolve("model");
        // Issue 14: a tokenizer is parsed before it is copied; bytes that are not one are refused.
        Path tokenizer = Files.writeString(tmp.resolve("tok.model"), "not really a tokenizer");
        assertThat(convert(model, "--experts", "int4", "--tokenizer", tokenizer.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains(tokenizer.toString()).contains("not a valid SentencePiece model");
        assertThat(model.resolve("manifest.json")).doesNotExist();
        assertThat(convert(model, "--experts", "int4")).as(err.toString()).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).contains("q4nl", "int8-rowblock", "worst re-quantized tensors", "converted ");
        assertThat(model.resolve("conversion-report.json")).exists();
        Manifest m = Manifest.read(model);
        assertThat(m.tokenizer()).isNull();
        assertThat(m.formatVersion()).isEqualTo(1);
        assertThat(m.conversion().get("experts").asText()).isEqualTo("int4");
        assertThat(run("check", model.toString())).as(err.toString()).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).contains("OK: ");
        try (ShardedModel w = ShardedModel.open(model)) {
            ModelConfig c = w.config();
            assertThat(w.embeddings().outDim()).isEqualTo(c.vocabSize());
            // int4 = q4nl, the best int4 encoding (issue 6)
            assertThat(w.expert(ParamNames.layer(2, ParamNames.MOE_LINEAR_1), 7).encoding()).isEqualTo("q4nl");
            assertThat(w.matrix(ParamNames.layer(0, ParamNames.ATTN_OUT)).encoding()).isEqualTo("int8-rowblock");
            assertThat(w.vector(ParamNames.layer(1, ParamNames.NORM_PRE_MOE))).hasSize(c.embSize());
        }
    }

    @Test
    void checkReportsAFlippedByteWithTheTensorNameAndExitsOne() throws IOException {
        Path model = tmp.resolve("model");
        assertThat(convert(model)).as(err.toString()).isEqualTo(ExitCodes.OK);
        TensorRecord victim = Manifest.read(model).tensors().stream()
                .filter(t -> t.name().equals(ParamNames.layer(1, ParamNames.MOE_LINEAR_V)) && t.expert() == 5).findFirst().orElseThrow();
        try (FileChannel ch = FileChannel.open(model.resolve(victim.shard()), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = victim.weights().offset() + 17;
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 1)).rewind();
            ch.write(b, at);
        }
        assertThat(run("check", model.toString())).isEqualTo(ExitCodes.CHECK_FAILED);
        assertThat(err.toString()).contains("CORRUPT", "transformer/decoder_layer_1/moe/linear_v/w [expert 5]", "CRC32C");
    }

    @Test
    void checkOfANonModelDirectoryIsBadInput() {
        assertThat(run("check", tmp.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("manifest.json");
        assertThat(run("check", tmp.resolve("nope").toString())).isEqualTo(ExitCodes.BAD_INPUT);
    }

    @Test
    void badInputExitsTwoAndLeavesNoManifest() throws IOException {
        Path model = tmp.resolve("bad");
        // Everything the reader refuses: here a truncated tensor file.
        Path ckpt = tmp.resolve("ckpt-0");
        Files.createDirectories(ckpt);
        try (Stream<Path> s = Files.list(FIXTURE.resolve("ckpt-0"))) {
            for (Path p : s.toList()) Files.copy(p, ckpt.resolve(p.getFileName()));
        }
        Path victim = ckpt.resolve("tensor00005_000");
        byte[] bytes = Files.readAllBytes(victim);
        Files.write(victim, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertThat(run("convert", ckpt.toString(), model.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("tensor00005_000");
        assertThat(model.resolve("manifest.json")).doesNotExist();

        assertThat(run("convert", tmp.resolve("missing").toString(), model.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(convert(model, "--experts", "int2")).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("--experts");
        assertThat(convert(model, "--shard-size", "lots")).isEqualTo(ExitCodes.BAD_INPUT);
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThat(convert(file.resolve("sub"))).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains("cannot create the output directory");
        assertThat(model.resolve("manifest.json")).doesNotExist();
    }

    /** Simulates an interrupted run: the converter stops (as if killed) once the third shard is being written. */
    static final class Interrupted extends RuntimeException {}

    /**
     * --resume after an interrupted run with other byte-determining options (here --experts)
     * exits 2 and writes no manifest; with the first run's options it completes.
     */
    @Test
    void resumeWithOtherOptionsThanTheInterruptedRunExitsTwo() throws Exception {
        Path model = tmp.resolve("resumed");
        convertUntilShard3(model);
        assertThat(model.resolve(".convert-state")).isNotEmptyDirectory();
        assertThat(convert(model, "--resume", "--experts", "int4")).as(err.toString()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains(model.toString(), "--resume", "other inputs");
        assertThat(model.resolve("manifest.json")).doesNotExist();
        assertThat(convert(model, "--resume")).as(err.toString()).isEqualTo(ExitCodes.OK);
        assertThat(out.toString() + err).contains("verifies; kept"); // the resume log goes to stderr since the cli merge
        assertThat(run("check", model.toString())).isEqualTo(ExitCodes.OK);
    }

    /**
     * Issue 13: --resume with another --model-config (here rope_base, which changes no shape) is
     * refused with a message that names the field, both after a complete conversion (which used
     * to answer "conversion already complete") and after an interrupted one.
     */
    @Test
    void resumeWithAnotherModelConfigIsRefusedNamingTheField() throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode cfg =
                (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(FIXTURE.resolve("config.json").toFile());
        double rope = cfg.has("rope_base") ? cfg.get("rope_base").asDouble() : ModelConfig.grok1().ropeBase();
        cfg.put("rope_base", rope / 2);
        Path other = Files.writeString(tmp.resolve("other-config.json"), cfg.toString());
        Path model = tmp.resolve("complete");
        assertThat(convert(model)).as(err.toString()).isEqualTo(ExitCodes.OK);
        String[] resumeOther = {"convert", FIXTURE.resolve("ckpt-0").toString(), model.toString(), "--model-config", other.toString(),
                "--threads", "2", "--shard-size", "128KiB", "--resume"};
        assertThat(run(resumeOther)).as(err.toString()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains(model.toString(), "cannot be resumed", "another model configuration",
                "rope_base " + rope + " in the model, " + rope / 2 + " now").doesNotContain("already complete");
        assertThat(out.toString()).doesNotContain("already complete");
        assertThat(convert(model, "--resume")).as(err.toString()).isEqualTo(ExitCodes.OK); // the same configuration: complete
        assertThat(out.toString()).contains("already complete");

        Path interrupted = tmp.resolve("interrupted");
        convertUntilShard3(interrupted);
        resumeOther[2] = interrupted.toString();
        assertThat(run(resumeOther)).as(err.toString()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString()).contains(interrupted.toString(), "--resume", "model configuration");
        assertThat(interrupted.resolve("manifest.json")).doesNotExist();
    }

    /** grok check's progress: every region byte is counted once, in order, ending at the total. */
    @Test
    void checkReportsProgressUpToEveryRegionByte() throws Exception {
        Path model = tmp.resolve("progress");
        assertThat(convert(model)).as(err.toString()).isEqualTo(ExitCodes.OK);
        List<long[]> updates = new java.util.ArrayList<>();
        grokkit.shard.ModelChecker.Result r = grokkit.shard.ModelChecker.check(model, (done, total) -> updates.add(new long[]{done, total}));
        assertThat(r.ok()).isTrue();
        long regions = 0;
        grokkit.shard.Manifest m = grokkit.shard.Manifest.read(model);
        for (grokkit.shard.TensorRecord t : m.tensors()) regions += t.weights().length() + (t.scales() == null ? 0 : t.scales().length());
        assertThat(updates).isNotEmpty();
        for (int i = 1; i < updates.size(); i++) assertThat(updates.get(i)[0]).isGreaterThan(updates.get(i - 1)[0]);
        for (long[] u : updates) assertThat(u[1]).isEqualTo(regions);
        assertThat(updates.getLast()[0]).isEqualTo(regions);
        assertThat(r.bytes()).isGreaterThanOrEqualTo(regions); // shard bytes include the padding
        // the fixture is far below the progress threshold: check prints only its verdict
        err.getBuffer().setLength(0);
        assertThat(run("check", model.toString())).isEqualTo(ExitCodes.OK);
        assertThat(err.toString()).isEmpty();
    }

    /** A conversion with the default options that dies (as if killed) while writing its fourth shard. */
    private static void convertUntilShard3(Path out) throws Exception {
        grokkit.convert.ConvertOptions first = grokkit.convert.ConvertOptions.defaults().withThreads(2).withShardSize(128 * 1024);
        grokkit.convert.ConvertHooks crash = new grokkit.convert.ConvertHooks() {
            @Override
            public void afterWrite(String shard, long position) {
                if (shard.startsWith("shard-00003")) throw new Interrupted();
            }
        };
        try (grokkit.convert.CheckpointSource src = grokkit.convert.CheckpointSource.open(FIXTURE.resolve("ckpt-0"),
                ModelConfig.read(FIXTURE.resolve("config.json"), ModelConfig.grok1()))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new grokkit.convert.Converter(first, new PrintWriter(new StringWriter()),
                    false, crash).convert(src, out)).isInstanceOf(Interrupted.class);
        }
    }
}
