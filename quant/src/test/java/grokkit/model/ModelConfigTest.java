package grokkit.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelConfigTest {
    @Test
    void grok1DefaultsMatchTheReference() {
        ModelConfig c = ModelConfig.grok1();
        assertThat(c.ffnSize()).isEqualTo(32768);
        assertThat(c.embSize()).isEqualTo(c.numQHeads() * c.keySize());
        assertThat(c.queryGroupSize()).isEqualTo(6);
    }

    @Test
    void handWrittenJsonIsWhatJacksonsBeanMappingWritesAndReads() throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper bean = new com.fasterxml.jackson.databind.ObjectMapper();
        ModelConfig odd = new ModelConfig(1000, 96, 24, 4, 2, 3, 5, 2, 7.5, 480, 1.25e-3, -0.75, 0.1, 17.5, 3e-7, 12345.5, 1, 3, 0);
        for (ModelConfig c : new ModelConfig[]{ModelConfig.grok1(), odd}) {
            assertThat(c.toJson()).isEqualTo(bean.valueToTree(c));
            assertThat(c.toJson().toString()).isEqualTo(bean.writeValueAsString(c)); // same order, same number forms
            assertThat(bean.treeToValue(c.toJson(), ModelConfig.class)).isEqualTo(c);
            ModelConfig.Parsed p = ModelConfig.merge(c.toJson(), ModelConfig.grok1(), "test");
            assertThat(p.config()).isEqualTo(c);
            assertThat(p.givenFields()).containsExactlyElementsOf(ModelConfig.FIELDS);
        }
    }

    @Test
    void ffnSizeRoundsUpToAMultipleOfEight() {
        assertThat(ModelConfig.referenceFfnSize(64, 8)).isEqualTo(344); // 341 -> 344
        assertThat(ModelConfig.referenceFfnSize(2048, 8)).isEqualTo(10928);
    }

    @Test
    void readsPartialFilesAndReportsWhatDefaulted(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("c.json");
        Files.writeString(f, "{\"vocab_size\": 1024, \"emb_size\": 64, \"seed\": 7}");
        ModelConfig.Parsed p = ModelConfig.read(f, ModelConfig.grok1());
        assertThat(p.config().vocabSize()).isEqualTo(1024);
        assertThat(p.config().ffnSize()).isEqualTo(344);
        assertThat(p.givenFields()).containsExactly("vocab_size", "emb_size");
        assertThat(p.defaultedFields()).contains("num_layers", "ffn_size").doesNotContain("vocab_size");
    }

    @Test
    void rejectsNonsenseNamingTheFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"num_q_heads\": 7, \"num_kv_heads\": 2}");
        assertThatThrownBy(() -> ModelConfig.read(f, ModelConfig.grok1()))
                .hasMessageContaining("bad.json").hasMessageContaining("num_kv_heads");
        Files.writeString(f, "{\"emb_size\": \"big\"}");
        assertThatThrownBy(() -> ModelConfig.read(f, ModelConfig.grok1())).hasMessageContaining("emb_size");
    }

    @Test
    void roundTripsThroughJson() throws IOException {
        ModelConfig c = ModelConfig.grok1();
        ModelConfig back = ModelConfig.merge(c.toJson(), ModelConfig.grok1(), "x").config();
        assertThat(back).isEqualTo(c);
    }
}
