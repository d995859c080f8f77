package grokkit.quant;

import grokkit.errors.BadInputException;
import grokkit.shard.Manifest;
import grokkit.shard.Region;
import grokkit.shard.ShardInfo;
import grokkit.shard.TensorRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The encoding home: names and aliases parsed once, and each constant's parts agreeing with each other. */
class EncodingTest {
    @TempDir
    Path tmp;

    @Test
    void namesAndAliasesParse() throws BadInputException {
        for (Encoding e : Encoding.values()) {
            assertThat(Encoding.lookup(e.id())).isSameAs(e);
            assertThat(Encoding.parse(e.id(), "test")).isSameAs(e);
            assertThat(e.toString()).isEqualTo(e.id());
        }
        assertThat(Encoding.lookup("int4")).isSameAs(Encoding.Q4NL);
        assertThat(Encoding.lookup("int8")).isSameAs(Encoding.INT8_ROWBLOCK);
        assertThat(Encoding.lookup("q5")).isNull();
        assertThatThrownBy(() -> Encoding.parse("q5", "--encodings")).isInstanceOf(BadInputException.class)
                .hasMessageContaining("--encodings").hasMessageContaining("q5").hasMessageContaining("q4nl");
        assertThat(new EncodingSpec("q4nl", 32, "log8")).isEqualTo(EncodingSpec.q4nl(32));
    }

    /**
     * For every encoding with a float encoder: the encoder's row sizes are the spec's region sizes,
     * and the encoder's decoder and the scalar dequantizer give the same floats.
     */
    @Test
    void encoderSizesAndDecodersAgreeWithTheSpec() {
        Random r = new Random(3);
        for (EncodingSpec spec : List.of(EncodingSpec.f32(), EncodingSpec.bf16(), EncodingSpec.q8(32, "bf16"), EncodingSpec.q4(64, "f16"),
                EncodingSpec.q4_0(), EncodingSpec.q4nl(32))) {
            int in = spec.encoding().allowsRaggedGroups() ? 200 : 256, out = 5;
            float[] x = new float[in * out];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            MatrixEncoder enc = spec.encoding().encoder(spec, in, () -> new Q4NlEncoder.ChannelStats(in).addRows(x, 0, out), null);
            assertThat((long) enc.weightRowBytes() * out).as("%s", spec).isEqualTo(spec.weightBytes(in, out));
            assertThat(enc.headerBytes() + (long) enc.scaleRowBytes() * out).as("%s", spec).isEqualTo(spec.scaleBytes(in, out));
            byte[] w = new byte[(int) spec.weightBytes(in, out)], s = new byte[(int) spec.scaleBytes(in, out)];
            enc.writeHeader(s, 0);
            enc.encodeRows(x, 0, out, w, 0, s, enc.headerBytes());
            float[] ref = Dequantizer.all(spec, java.lang.foreign.MemorySegment.ofArray(w), java.lang.foreign.MemorySegment.ofArray(s), in, out);
            float[] row = new float[in];
            for (int o = 0; o < out; o++) {
                enc.decodeRow(w, o * enc.weightRowBytes(), s, enc.headerBytes() + o * enc.scaleRowBytes(), row);
                assertThat(row).as("%s row %d", spec, o).containsExactly(java.util.Arrays.copyOfRange(ref, o * in, (o + 1) * in));
            }
        }
        assertThatThrownBy(() -> Encoding.INT8_ROWBLOCK.encoder(EncodingSpec.int8RowBlock(64, 1), 64, null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no float encoder");
        assertThatThrownBy(() -> Encoding.Q4.encoder(EncodingSpec.q4nl(32), 64, null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a q4");
    }

    /**
     * An unknown encoding in a manifest is bad input naming the file and the value. (The strict
     * reader refuses this hand-made manifest's empty config first; the unknown encoding in an
     * otherwise valid manifest is a case of tools' ManifestFaultsTest.)
     */
    @Test
    void manifestWithAnUnknownEncodingIsBadInput() throws Exception {
        TensorRecord t = new TensorRecord("language_model/rms_norm/scale", null, new long[] {64}, 64, 1,
                TensorRecord.Encoding.of(EncodingSpec.f32()), "shard-00001-of-00001.bin", new Region(0, 256, "00000000"), null);
        Manifest m = new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(),
                null, new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(), Manifest.ALIGNMENT,
                List.of(new ShardInfo("shard-00001-of-00001.bin", 256)), List.of(t));
        m.write(tmp);
        Path file = tmp.resolve(Manifest.FILE_NAME);
        String json = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(json).contains("\"name\" : \"f32\"");
        Files.writeString(file, json.replace("\"name\" : \"f32\"", "\"name\" : \"q5\""), StandardCharsets.UTF_8);
        assertThatThrownBy(() -> Manifest.read(tmp)).isInstanceOf(BadInputException.class).hasMessageContaining(file.toString());
    }
}
