package grokkit.verify;

import grokkit.errors.BadInputException;
import grokkit.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GoldenSetTest {
    @TempDir
    Path tmp;

    @Test
    void readsPromptsFilesAndLogits() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 16, 1, 1, 3);
        GoldenSet set = GoldenSet.read(g.dir);
        assertThat(set.vocabSize()).isEqualTo(16);
        assertThat(set.modes()).containsKeys("bf16", "f32");
        assertThat(set.prompts()).hasSize(2);
        assertThat(set.prompts().get(1).tokens()).containsExactly(g.tokens.get(1));
        set.requireMode("f32");
        assertThat(set.logits(set.prompts().get(1), "f32")).isDeepEqualTo(g.f32.get(1));
    }

    @Test
    void missingGoldenJsonNamesTheFile() throws IOException {
        Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> GoldenSet.read(tmp.resolve("empty"))).isInstanceOf(BadInputException.class)
                .hasMessageContaining(tmp.resolve("empty").resolve("golden.json").toString()).hasMessageContaining("missing");
        assertThatThrownBy(() -> GoldenSet.read(tmp.resolve("nope"))).isInstanceOf(BadInputException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void rejectsInconsistentDescriptions() throws IOException {
        String[][] cases = {
                {"{not json", "not valid JSON"},
                {"{\"prompts\": []}", "vocab_size"},
                {"{\"config\": {\"vocab_size\": 8}, \"prompts\": []}", "non-empty"},
                {"{\"config\": {\"vocab_size\": 8}, \"prompts\": [{\"tokens\": [], \"files\": {\"f32\": \"a.npy\"}}]}", "tokens"},
                {"{\"config\": {\"vocab_size\": 8}, \"prompts\": [{\"tokens\": [8], \"files\": {\"f32\": \"a.npy\"}}]}", "not an id in [0, 8)"},
                {"{\"config\": {\"vocab_size\": 8}, \"prompts\": [{\"tokens\": [1, 2], \"shape\": [2, 9], \"files\": {\"f32\": \"a.npy\"}}]}", "'shape'"},
                {"{\"config\": {\"vocab_size\": 8}, \"prompts\": [{\"tokens\": [1], \"files\": {\"f32\": \"../a.npy\"}}]}", "plain file name"},
                {"{\"config\": {\"vocab_size\": 8}, \"prompts\": [{\"k\": 0, \"tokens\": [1], \"files\": {\"f32\": \"a.npy\"}},"
                        + " {\"k\": 0, \"tokens\": [1], \"files\": {\"f32\": \"b.npy\"}}]}", "duplicate k"},
        };
        for (String[] c : cases) {
            Path d = Files.createDirectories(tmp.resolve("case" + c[1].hashCode()));
            Files.writeString(d.resolve("golden.json"), c[0]);
            assertThatThrownBy(() -> GoldenSet.read(d)).as(c[0]).isInstanceOf(BadInputException.class)
                    .hasMessageContaining(d.resolve("golden.json").toString()).hasMessageContaining(c[1]);
        }
    }

    @Test
    void missingModeOrFileIsBadInput() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 8, 2, 2);
        GoldenSet set = GoldenSet.read(g.dir);
        assertThatThrownBy(() -> set.requireMode("fp8")).isInstanceOf(BadInputException.class)
                .hasMessageContaining("no logits for mode 'fp8'").hasMessageContaining("bf16, f32");
        Files.delete(g.dir.resolve("p0.f32.npy"));
        assertThatThrownBy(() -> set.requireMode("f32")).isInstanceOf(BadInputException.class)
                .hasMessageContaining("p0.f32.npy");
    }

    @Test
    void corruptOrWronglyShapedGoldenLogitsAreBadInput() throws IOException {
        TinyGolden g = TinyGolden.write(tmp.resolve("g"), 8, 3, 2, 3);
        GoldenSet set = GoldenSet.read(g.dir);
        // same bytes count, different content: the recorded SHA-256 catches it
        float[][] x = g.f32.get(0);
        x[0][0] += 1;
        Npy.write(g.dir.resolve("p0.f32.npy"), x);
        assertThatThrownBy(() -> set.logits(set.prompts().get(0), "f32")).isInstanceOf(BadInputException.class)
                .hasMessageContaining("p0.f32.npy").hasMessageContaining("SHA-256");
        // without a recorded hash, the shape check names the file
        Files.writeString(g.dir.resolve("golden.json"), "{\"config\": {\"vocab_size\": 8}, \"prompts\": [{\"k\": 1,"
                + " \"tokens\": [1, 2, 3], \"files\": {\"f32\": \"p0.f32.npy\"}}]}");
        GoldenSet noHash = GoldenSet.read(g.dir);
        assertThatThrownBy(() -> noHash.logits(noHash.prompts().get(0), "f32")).isInstanceOf(BadInputException.class)
                .hasMessageContaining("p0.f32.npy").hasMessageContaining("shape mismatch")
                .hasMessageContaining("(2, 8)").hasMessageContaining("(3, 8)");
    }

    @Test
    void modelConfigurationMustMatchTheGoldenOne() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("cfg"));
        Files.writeString(d.resolve("golden.json"), "{\"config\": {\"vocab_size\": 131072, \"num_layers\": 3,"
                + " \"embedding_multiplier_scale\": 78.38367176906169, \"seed\": 1}, \"prompts\": [{\"tokens\": [1],"
                + " \"files\": {\"f32\": \"a.npy\"}}]}");
        GoldenSet set = GoldenSet.read(d);
        assertThatThrownBy(() -> set.requireSameModel(grokkit.model.ModelConfig.grok1(), "the model"))
                .isInstanceOf(BadInputException.class).hasMessageContaining(d.resolve("golden.json").toString())
                .hasMessageContaining("num_layers 3 (golden) vs 64 (model)").hasMessageNotContaining("vocab_size")
                .hasMessageNotContaining("embedding_multiplier_scale");
        Files.writeString(d.resolve("golden.json"), "{\"config\": {\"vocab_size\": 131072, \"num_layers\": 64},"
                + " \"prompts\": [{\"tokens\": [1], \"files\": {\"f32\": \"a.npy\"}}]}");
        GoldenSet.read(d).requireSameModel(grokkit.model.ModelConfig.grok1(), "the model"); // fields absent from golden: not compared
    }
}
