package grokkit.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every committed fixture checkpoint ({@code golden-tests/fixtures/<name>/ckpt-0}, written by the
 * Python generator in numpy-1.x/2.x styles and protocols 4/5) opens, with its config.json if
 * present, and gets the names of {@link ParamNames#checkpointOrder}; where a manifest.json lists
 * tensors, names and shapes must match it.
 */
class CommittedFixturesTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> everyCommittedFixtureReads() throws Exception {
        Path fixtures = Path.of(System.getProperty("grok.root", ".")).resolve("golden-tests/fixtures");
        List<Path> ckpts = new ArrayList<>();
        if (Files.isDirectory(fixtures)) {
            try (Stream<Path> s = Files.walk(fixtures, 3)) {
                s.filter(p -> p.getFileName().toString().equals("ckpt-0") && Files.isDirectory(p)).sorted().forEach(ckpts::add);
            }
        }
        assumeTrue(!ckpts.isEmpty(), "skipped: no committed fixture checkpoints under " + fixtures + " yet");
        return ckpts.stream().map(ckpt -> DynamicTest.dynamicTest(fixtures.relativize(ckpt).toString(), () -> check(ckpt)));
    }

    static void check(Path ckptDir) throws Exception {
        Path home = ckptDir.getParent();
        ModelConfig.Parsed config = Files.isRegularFile(home.resolve("config.json"))
                ? ModelConfig.read(home.resolve("config.json"), ModelConfig.grok1()) : null;
        try (Checkpoint ckpt = Checkpoint.open(ckptDir, config)) {
            List<String> names = ParamNames.checkpointOrder(ckpt.config().numLayers());
            assertThat(ckpt.tensors()).extracting(CheckpointTensor::name).containsExactlyElementsOf(names);
            JsonNode manifest = Files.isRegularFile(home.resolve("manifest.json")) ? JSON.readTree(home.resolve("manifest.json").toFile()) : null;
            if (manifest == null || !manifest.has("tensors")) return;
            JsonNode tensors = manifest.get("tensors");
            assertThat(tensors.size()).isEqualTo(ckpt.tensors().size());
            for (int i = 0; i < tensors.size(); i++) {
                JsonNode m = tensors.get(i);
                CheckpointTensor t = ckpt.tensors().get(i);
                if (m.has("name")) assertThat(t.name()).isEqualTo(m.get("name").asText());
                JsonNode shape = m.has("weight_shape") ? m.get("weight_shape") : m.get("shape");
                if (shape != null) assertThat(JSON.valueToTree(t.weight().shape()).toString()).isEqualTo(shape.toString());
                if (m.has("scales_shape") && t.scales() != null)
                    assertThat(JSON.valueToTree(t.scales().shape()).toString()).isEqualTo(m.get("scales_shape").toString());
            }
        }
    }
}
