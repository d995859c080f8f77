package grokkit.convert;

import grokkit.model.ModelConfig;
import grokkit.shard.ModelChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Conversion of real ckpt-0 files (the committed fixtures, and the shared public-tiny when present). */
class FixtureConversionTest {
    @TempDir
    Path tmp;

    static Path root() {
        return Path.of(System.getProperty("grok.root", "."));
    }

    static CheckpointSource open(Path fixture) throws IOException {
        return CheckpointSource.open(fixture.resolve("ckpt-0"), ModelConfig.read(fixture.resolve("config.json"), ModelConfig.grok1()));
    }

    static Converter.Result convert(CheckpointSource src, Path out, ConvertOptions o) throws IOException {
        return new Converter(o, new PrintWriter(new StringWriter()), false, ConvertHooks.NONE).convert(src, out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-12l", "tiny-np2-p5", "tiny-np1-p5"})
    void int8ConversionOfCommittedFixturesEqualsTheSourceElementByElement(String name) throws IOException {
        Path fixture = root().resolve("golden-tests/fixtures").resolve(name);
        assertThat(fixture.resolve("ckpt-0")).isDirectory();
        Path out = tmp.resolve(name);
        try (CheckpointSource src = open(fixture)) {
            convert(src, out, ConvertOptions.defaults().withThreads(2).withShardSize(256 * 1024));
            assertThat(ModelChecker.check(out).problems()).isEmpty();
            ConverterTest.assertEqualsSource(src, out);
        }
    }

    @Test
    void int4ConversionOfTiny12lReportsTheErrorAnIndependentComputationFinds() throws IOException {
        Path fixture = root().resolve("golden-tests/fixtures/tiny-12l");
        Path out = tmp.resolve("int4");
        try (CheckpointSource src = open(fixture)) {
            Converter.Result r = convert(src, out, ConvertOptions.defaults().withThreads(2).withExperts("int4").withGroupSize(64));
            assertThat(ModelChecker.check(out).problems()).isEmpty();
            int checked = ConverterTest.assertReportMatchesIndependentComputation(src, out);
            assertThat(checked).isEqualTo(12 * 8 * 3);
            assertThat(r.report().byEncoding()).extracting(ConversionReport.EncodingRow::encoding).contains("q4", "int8-rowblock", "f32");
            // int8 attention stays exact under --experts int4
            ConverterTest.assertEqualsSource(src, out);
        }
    }

    @Test
    void publicTinyInt8IsLosslessAndInt4ReportIsExact() throws IOException {
        Path fixture = root().resolve("../shared/fixtures/public-tiny").normalize();
        assumeTrue(Files.isDirectory(fixture.resolve("ckpt-0")), "shared fixture " + fixture + " is absent: skipping the public-tiny conversion test");
        try (CheckpointSource src = open(fixture)) {
            Path int8 = tmp.resolve("pt-int8"), int4 = tmp.resolve("pt-int4");
            convert(src, int8, ConvertOptions.defaults().withThreads(2));
            ConverterTest.assertEqualsSource(src, int8);
            convert(src, int4, ConvertOptions.defaults().withThreads(2).withExperts("int4").withAttention("int4").withEmbeddings("bf16"));
            assertThat(ConverterTest.assertReportMatchesIndependentComputation(src, int4)).isEqualTo(3 * 8 * 3 + 3 * 4 + 1);
        }
    }
}
