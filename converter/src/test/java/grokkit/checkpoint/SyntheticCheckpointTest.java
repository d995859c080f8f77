package grokkit.checkpoint;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.pickle.PickleException;
import grokkit.pickle.PickleWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Checkpoints written by {@link SyntheticCheckpoint} (12 layers, so the string order of layer
 * numbers matters), then damaged in each way the issue lists: every problem must be a
 * BadInputException naming the file and the problem.
 */
class SyntheticCheckpointTest {
    /** 12 layers, emb 32, vocab 128, 4 experts, ffn 24, 4 q heads and 2 kv heads of 8. */
    static final ModelConfig CONFIG = new ModelConfig(128, 32, 8, 4, 2, 12, 4, 2, 8.0, 24,
            78.38367176906169, 0.5773502691896257, 1 / Math.sqrt(8), 30.0, 1e-5, 10000.0, 0, 2, 256);

    @TempDir
    static Path shared;
    static Path release;

    @BeforeAll
    static void writeOnce() throws IOException {
        release = shared.resolve("release");
        SyntheticCheckpoint.write(release, CONFIG, SyntheticCheckpoint.Style.RELEASE, 1);
    }

    static ModelConfig.Parsed given(String... fields) {
        return new ModelConfig.Parsed(CONFIG, java.util.Set.of(fields));
    }

    static ModelConfig.Parsed fullConfig() {
        return new ModelConfig.Parsed(CONFIG, java.util.Set.copyOf(ModelConfig.FIELDS));
    }

    /** A copy of the release checkpoint to damage. */
    static Path copy(Path tmp) throws IOException {
        Path dir = tmp.resolve("ckpt-0");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(release)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    static String file(int i) {
        return CheckpointLayout.fileName(i);
    }

    @Test
    void layersComeInStringOrderAndEveryTensorIsNamedAndChecked() throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(release, fullConfig())) {
            List<CheckpointTensor> t = ckpt.tensors();
            assertThat(t).hasSize(2 + 12 * 12);
            assertThat(t.get(0).name()).isEqualTo("language_model/in_out_embed/embeddings");
            assertThat(t.get(1).name()).isEqualTo("language_model/rms_norm/scale");
            // layers in string order: 0, 1, 10, 11, 2, 3, ...
            assertThat(t.get(2).name()).isEqualTo("transformer/decoder_layer_0/moe/linear/w");
            assertThat(t.get(14).name()).isEqualTo("transformer/decoder_layer_1/moe/linear/w");
            assertThat(t.get(26).name()).isEqualTo("transformer/decoder_layer_10/moe/linear/w");
            assertThat(t.get(38).name()).isEqualTo("transformer/decoder_layer_11/moe/linear/w");
            assertThat(t.get(50).name()).isEqualTo("transformer/decoder_layer_2/moe/linear/w");
            assertThat(t.get(145).name()).isEqualTo("transformer/decoder_layer_9/router/w");
            CheckpointTensor out = ckpt.tensor(ParamNames.layer(10, ParamNames.ATTN_OUT));
            assertThat(out.index()).isEqualTo(26 + 4);
            assertThat(out.fileName()).isEqualTo("tensor00030_000");
            assertThat(out.weight().shape()).containsExactly(32, 32);
            assertThat(out.scales().shape()).containsExactly(8, 32);
            assertThat(out.scaleRowBlocks()).isEqualTo(8);
            assertThat(ckpt.tensor(ParamNames.layer(3, ParamNames.MOE_LINEAR)).scaleRowBlocks()).isEqualTo(1);
            assertThat(ckpt.tensor(ParamNames.layer(3, ParamNames.ROUTER)).scaleRowBlocks()).isZero();
            assertThat(ckpt.config()).isEqualTo(CONFIG);
        }
    }

    @Test
    void everyPickleSpellingReadsTheSame(@TempDir Path tmp) throws Exception {
        ModelConfig small = new ModelConfig(64, 16, 8, 2, 1, 1, 2, 1, 8.0, 16, 1, 1, 0.35, 30, 1e-5, 1e4, 0, 2, 64);
        long[][] reference = null;
        for (int protocol = 3; protocol <= 5; protocol++) {
            for (PickleWriter.NumpyStyle np : PickleWriter.NumpyStyle.values()) {
                for (String module : new String[]{"__main__", "model"}) {
                    Path dir = tmp.resolve(protocol + "-" + np + "-" + module);
                    SyntheticCheckpoint.write(dir, small, new SyntheticCheckpoint.Style(protocol, np, module), 5);
                    try (Checkpoint c = Checkpoint.open(dir, new ModelConfig.Parsed(small, java.util.Set.copyOf(ModelConfig.FIELDS)))) {
                        long[][] shapes = c.tensors().stream().map(t -> t.weight().shape()).toArray(long[][]::new);
                        if (reference == null) reference = shapes;
                        assertThat(shapes).isDeepEqualTo(reference);
                        assertThat(c.config()).isEqualTo(small);
                    }
                }
            }
        }
    }

    @Test
    void inferenceFromShapesAloneWithGrok1KeySize(@TempDir Path tmp) throws Exception {
        // q = 2 x 128, kv = 1 x 128: Grok-1's key_size divides both, so the heads follow.
        ModelConfig c = new ModelConfig(64, 256, 128, 2, 1, 1, 2, 2, 8.0, 16, 1, 1, 0.0884, 30, 1e-5, 1e4, 0, 2, 64);
        SyntheticCheckpoint.write(tmp, c, SyntheticCheckpoint.Style.RELEASE, 3);
        try (Checkpoint ckpt = Checkpoint.open(tmp, null)) {
            ModelConfig got = ckpt.config();
            assertThat(got.vocabSize()).isEqualTo(64);
            assertThat(got.embSize()).isEqualTo(256);
            assertThat(got.numLayers()).isEqualTo(1);
            assertThat(got.numExperts()).isEqualTo(2);
            assertThat(got.ffnSize()).isEqualTo(16);
            assertThat(got.keySize()).isEqualTo(128);
            assertThat(got.numQHeads()).isEqualTo(2);
            assertThat(got.numKvHeads()).isEqualTo(1);
            assertThat(got.attnOutputMultiplier()).isEqualTo(ModelConfig.grok1().attnOutputMultiplier());
            assertThat(String.join("\n", ckpt.configNotes())).doesNotContain("WARNING")
                    .contains("Grok-1 defaults (not in the checkpoint's shapes): num_selected_experts=2");
        }
    }

    @Test
    void missingFile(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        Files.delete(dir.resolve(file(30)));
        assertThatThrownBy(() -> Checkpoint.open(dir, given("num_layers"))).isInstanceOf(BadInputException.class)
                .hasMessage(dir + ": missing tensor file tensor00030_000 (transformer/decoder_layer_10/multi_head_attention/linear/w)"
                        + " (a 12-layer checkpoint has 146 files)");
        // without num_layers the count no longer fits 2 + 12 x layers
        assertThatThrownBy(() -> Checkpoint.open(dir, null)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing tensor file tensor00030_000");
        Files.delete(dir.resolve(file(145)));
        assertThatThrownBy(() -> Checkpoint.open(dir, null)).isInstanceOf(BadInputException.class)
                .hasMessage(dir + ": 144 tensor files (highest index 144) do not make a checkpoint, which has 2 + 12 x num_layers files;"
                        + " a file is missing or extra (give --model-config with num_layers to find out which)");
    }

    @Test
    void extraFile(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        Files.copy(dir.resolve(file(1)), dir.resolve(file(146)));
        assertThatThrownBy(() -> Checkpoint.open(dir, given("num_layers"))).isInstanceOf(BadInputException.class)
                .hasMessage(dir + ": unexpected extra tensor file tensor00146_000 (a 12-layer checkpoint has 146 files,"
                        + " tensor00000_000 to tensor00145_000)");
    }

    @Test
    void otherFilesAreIgnoredButMultiHostShardsRefused(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        Files.writeString(dir.resolve("README"), "hello");
        try (Checkpoint c = Checkpoint.open(dir, fullConfig())) {
            assertThat(c.configNotes()).contains("ignored 1 file(s) that are not tensor files: README");
        }
        Files.copy(dir.resolve(file(1)), dir.resolve("tensor00001_001"));
        assertThatThrownBy(() -> Checkpoint.open(dir, fullConfig())).isInstanceOf(BadInputException.class)
                .hasMessageContaining("tensor00001_001: host shard 001 of a multi-host checkpoint");
    }

    @Test
    void wrongShapesKindsAndDtypes(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        SplittableRandom r = new SplittableRandom(9);
        SyntheticCheckpoint.Style s = SyntheticCheckpoint.Style.RELEASE;
        String moe = dir.resolve(file(26)) + " (transformer/decoder_layer_10/moe/linear/w)";

        Files.write(dir.resolve(file(26)), SyntheticCheckpoint.qw8File(s, new long[]{4, 32, 20}, 1, r));
        assertThatThrownBy(() -> Checkpoint.open(dir, fullConfig())).isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(moe + ": weight shape [4, 32, 20], expected [num_experts=4, emb_size=32, ffn_size=24]");

        Files.write(dir.resolve(file(26)), SyntheticCheckpoint.qw8File(s, new long[]{4, 32, 24}, 2, r));
        assertThatThrownBy(() -> Checkpoint.open(dir, fullConfig())).isInstanceOf(BadInputException.class)
                .hasMessage(moe + ": scales shape [4, 2, 24], expected [4, 1, 24] (per output column) or [4, 8, 24] (row-block sharded) for weight [4, 32, 24]");

        Files.write(dir.resolve(file(26)), SyntheticCheckpoint.f32File(s, new long[]{4, 32, 24}, r));
        assertThatThrownBy(() -> Checkpoint.open(dir, fullConfig())).isInstanceOf(BadInputException.class)
                .hasMessage(moe + ": holds a f32 array, expected a int8 weight + bf16 scales");

        Files.write(dir.resolve(file(26)), new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .quantizedWeight("__main__", new long[]{4, 32, 24}, new byte[4 * 32 * 24 * 2], new long[]{4, 1, 24}, new byte[4 * 24 * 2])
                .stop().toByteArray());
        // weight written as i1 by quantizedWeight: make an f2 weight by hand instead
        PickleWriter f16 = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1);
        f16.global("__main__", "QuantizedWeight8bit").raw(')', 0x81).memoize().raw('}').memoize().raw('(')
                .string("weight").array("f2", '<', new long[]{4, 32, 24}, new byte[4 * 32 * 24 * 2])
                .string("scales").array("bfloat16", '<', new long[]{4, 1, 24}, new byte[4 * 24 * 2]).raw('u', 'b').stop();
        Files.write(dir.resolve(file(26)), f16.toByteArray());
        assertThatThrownBy(() -> Checkpoint.open(dir, fullConfig())).isInstanceOf(BadInputException.class)
                .hasMessage(moe + ": weight has dtype float16, expected int8");

        Files.write(dir.resolve(file(26)), new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '>', new long[]{4, 32, 24}, new byte[4 * 32 * 24 * 4]).stop().toByteArray());
        Files.copy(release.resolve(file(26)), dir.resolve(file(26)), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.write(dir.resolve(file(0)), new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY1)
                .array("f4", '>', new long[]{128, 32}, new byte[128 * 32 * 4]).stop().toByteArray());
        assertThatThrownBy(() -> Checkpoint.open(dir, fullConfig())).isInstanceOf(BadInputException.class)
                .hasMessage(dir.resolve(file(0)) + " (language_model/in_out_embed/embeddings): array is big-endian; only little-endian arrays are supported");
    }

    @Test
    void givenConfigurationConflictingWithTheShapes() throws Exception {
        ModelConfig wrongVocab = new ModelConfig(1000, 32, 8, 4, 2, 12, 4, 2, 8.0, 24, 1, 1, 0.35, 30, 1e-5, 1e4, 0, 2, 256);
        assertThatThrownBy(() -> Checkpoint.open(release, new ModelConfig.Parsed(wrongVocab, java.util.Set.of("vocab_size"))))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(release.resolve(file(0)) + " (language_model/in_out_embed/embeddings): array shape [128, 32],"
                        + " expected [vocab_size=1000, emb_size=32]");
        ModelConfig fewerLayers = new ModelConfig(128, 32, 8, 4, 2, 11, 4, 2, 8.0, 24, 1, 1, 0.35, 30, 1e-5, 1e4, 0, 2, 256);
        assertThatThrownBy(() -> Checkpoint.open(release, new ModelConfig.Parsed(fewerLayers, java.util.Set.of("num_layers"))))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("unexpected extra tensor files tensor00134_000, tensor00135_000");
    }

    @Test
    void hostileTruncatedAndEmptyFilesInsideACheckpoint(@TempDir Path tmp) throws Exception {
        Path dir = copy(tmp);
        Path victim = dir.resolve(file(77));
        byte[] good = Files.readAllBytes(victim);

        PickleWriter evil = new PickleWriter(4, PickleWriter.NumpyStyle.NUMPY2);
        evil.global("os", "system").string("touch " + tmp.resolve("pwned")).raw(0x85, 'R', '.');
        Files.write(victim, evil.toByteArray());
        assertThatThrownBy(() -> Checkpoint.open(dir, null)).isInstanceOf(PickleException.class)
                .hasMessageStartingWith(victim + ": byte 25: global 'os.system' is not allowed");
        assertThat(tmp.resolve("pwned")).doesNotExist();

        Files.write(victim, Arrays.copyOf(good, good.length / 2));
        assertThatThrownBy(() -> Checkpoint.open(dir, null)).isInstanceOf(PickleException.class)
                .hasMessage(victim + ": byte 2: FRAME of 830 bytes runs past the end of the file (409 bytes left)");

        Files.write(victim, new byte[0]);
        assertThatThrownBy(() -> Checkpoint.open(dir, null)).isInstanceOf(BadInputException.class)
                .hasMessage(victim + ": empty file, not a pickle");

        Files.delete(victim);
        Files.createDirectory(victim);
        assertThatThrownBy(() -> Checkpoint.open(dir, null)).isInstanceOf(BadInputException.class)
                .hasMessage(victim + ": not a regular file");
    }

    @Test
    void notADirectory(@TempDir Path tmp) {
        assertThatThrownBy(() -> Checkpoint.open(tmp.resolve("nope"), null)).isInstanceOf(BadInputException.class)
                .hasMessage(tmp.resolve("nope") + ": no such checkpoint directory");
        assertThatThrownBy(() -> Checkpoint.open(tmp, null)).isInstanceOf(BadInputException.class)
                .hasMessage(tmp + ": no tensor files (tensor00000_000, ...) in this directory");
    }
}
