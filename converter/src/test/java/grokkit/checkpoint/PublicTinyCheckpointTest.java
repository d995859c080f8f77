package grokkit.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.model.ModelConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The reader against the shared public-tiny checkpoint, which Python (numpy 1.26, protocol 4)
 * wrote independently of this code: names, order, kinds, dtypes and shapes must match its
 * manifest. Skipped when ../shared is absent.
 */
class PublicTinyCheckpointTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static Path tiny;
    static JsonNode manifest;

    /**
     * {@code <grok.shared>/fixtures/NAME} if that system property is set, else
     * {@code <grok.root>/../shared/fixtures/NAME}; from a git worktree under {@code /work/wt/},
     * also one level further up, where the shared directory sits next to the main checkout.
     */
    static Path sharedFixture(String name) {
        String shared = System.getProperty("grok.shared");
        if (shared != null && Files.isDirectory(Path.of(shared, "fixtures", name))) return Path.of(shared, "fixtures", name);
        String root = System.getProperty("grok.root");
        if (root == null) return null;
        for (String up : new String[]{"..", "../.."}) {
            Path p = Path.of(root).resolve(up).resolve("shared/fixtures").resolve(name).normalize();
            if (Files.isDirectory(p)) return p;
        }
        return null;
    }

    @BeforeAll
    static void find() throws Exception {
        tiny = sharedFixture("public-tiny");
        assumeTrue(tiny != null && Files.isDirectory(tiny.resolve("ckpt-0")),
                "skipped: shared fixture <grok.root>/../shared/fixtures/public-tiny is absent");
        manifest = JSON.readTree(tiny.resolve("manifest.json").toFile());
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }

    @Test
    void namesOrderKindsAndShapesMatchTheManifest() throws Exception {
        ModelConfig.Parsed config = ModelConfig.read(tiny.resolve("config.json"), ModelConfig.grok1());
        try (Checkpoint ckpt = Checkpoint.open(tiny.resolve("ckpt-0"), config)) {
            JsonNode expected = manifest.get("tensors");
            assertThat(ckpt.tensors()).hasSize(expected.size()).hasSize(38);
            for (int i = 0; i < expected.size(); i++) {
                JsonNode m = expected.get(i);
                CheckpointTensor t = ckpt.tensors().get(i);
                assertThat(t.index()).isEqualTo(m.get("index").asInt());
                assertThat(t.fileName()).isEqualTo(m.get("file").asText());
                assertThat(t.name()).isEqualTo(m.get("name").asText());
                if (m.get("kind").asText().equals("f32")) {
                    assertThat(t.kind()).isEqualTo(TensorKind.F32);
                    assertThat(t.weight().shape()).containsExactly(longs(m.get("shape")));
                    assertThat(t.weight().dtype().displayName()).isEqualTo(m.get("dtype").asText());
                    assertThat(t.scales()).isNull();
                } else {
                    assertThat(t.kind()).isEqualTo(TensorKind.INT8_WITH_BF16_SCALES);
                    assertThat(t.weight().shape()).containsExactly(longs(m.get("weight_shape")));
                    assertThat(t.weight().dtype().displayName()).isEqualTo(m.get("weight_dtype").asText());
                    assertThat(t.scales().shape()).containsExactly(longs(m.get("scales_shape")));
                    assertThat(t.scales().dtype().displayName()).isEqualTo(m.get("scales_dtype").asText());
                    assertThat(t.scaleRowBlocks()).isEqualTo(m.get("scale_row_blocks").asInt());
                }
                assertThat(Files.size(ckpt.directory().resolve(t.fileName()))).isEqualTo(m.get("bytes").asLong());
            }
            assertThat(ckpt.config().keySize()).isEqualTo(8);
            assertThat(ckpt.config().numQHeads()).isEqualTo(8);
        }
    }

    @Test
    void withoutAConfigTheShapesGiveVocabEmbLayersExpertsAndFfn() throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(tiny, null)) { // the parent directory: ckpt-0 is found inside
            ModelConfig c = ckpt.config();
            assertThat(c.vocabSize()).isEqualTo(1024);
            assertThat(c.embSize()).isEqualTo(64);
            assertThat(c.numLayers()).isEqualTo(3);
            assertThat(c.numExperts()).isEqualTo(8);
            assertThat(c.ffnSize()).isEqualTo(344);
            assertThat((long) c.numQHeads() * c.keySize()).isEqualTo(64);
            assertThat((long) c.numKvHeads() * c.keySize()).isEqualTo(16);
            assertThat(String.join("\n", ckpt.configNotes()))
                    .contains("ckpt-0 directory inside")
                    .contains("num_layers = 3 (inferred from 38 tensor files")
                    .contains("vocab_size=1024 emb_size=64")
                    .contains("WARNING: key_size is a guess");
        }
    }

    @Test
    void descriptorsPointAtTheArrayBytesWhichMapWithoutCopying() throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(tiny.resolve("ckpt-0"), null); Arena arena = Arena.ofConfined()) {
            // pickletools: tensor00001_000 (final norm, [64] f32) has BINBYTES at byte 140.
            CheckpointTensor norm = ckpt.tensor("language_model/rms_norm/scale");
            assertThat(norm.weight().offset()).isEqualTo(145);
            assertThat(norm.weight().byteLength()).isEqualTo(256);
            List<CheckpointTensor> all = new ArrayList<>(ckpt.tensors());
            for (CheckpointTensor t : all) {
                for (ArrayDescriptor a : t.arrays()) {
                    MemorySegment seg = ckpt.map(a, arena);
                    assertThat(seg.byteSize()).isEqualTo(a.byteLength());
                    assertThat(seg.isReadOnly()).isTrue();
                    try (RandomAccessFile f = new RandomAccessFile(a.file().toFile(), "r")) {
                        byte[] last = new byte[1];
                        f.seek(a.offset() + a.byteLength() - 1);
                        f.readFully(last);
                        assertThat(seg.get(ValueLayout.JAVA_BYTE, a.byteLength() - 1)).isEqualTo(last[0]);
                    }
                }
            }
        }
    }
}
