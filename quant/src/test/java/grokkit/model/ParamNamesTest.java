package grokkit.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ParamNamesTest {
    @Test
    void layersSortAsStringsLikeTheReference() {
        List<String> names = ParamNames.checkpointOrder(12);
        assertThat(names).hasSize(2 + 12 * 12);
        assertThat(names.get(0)).isEqualTo("language_model/in_out_embed/embeddings");
        assertThat(names.get(1)).isEqualTo("language_model/rms_norm/scale");
        assertThat(names.get(2)).isEqualTo("transformer/decoder_layer_0/moe/linear/w");
        assertThat(names.get(3)).isEqualTo("transformer/decoder_layer_0/moe/linear_1/w");
        assertThat(names.get(4)).isEqualTo("transformer/decoder_layer_0/moe/linear_v/w");
        // layer order 0, 1, 10, 11, 2, ...
        assertThat(names.get(2 + 12)).startsWith("transformer/decoder_layer_1/");
        assertThat(names.get(2 + 24)).startsWith("transformer/decoder_layer_10/");
        assertThat(names.get(2 + 36)).startsWith("transformer/decoder_layer_11/");
        assertThat(names.get(2 + 48)).startsWith("transformer/decoder_layer_2/");
        assertThat(names.get(13)).isEqualTo("transformer/decoder_layer_0/router/w");
    }

    @Test
    void grok1HasSevenHundredSeventyFilesEndingWithLayerNine() {
        List<String> names = ParamNames.checkpointOrder(64);
        assertThat(names).hasSize(770);
        assertThat(names.get(769)).isEqualTo("transformer/decoder_layer_9/router/w");
        assertThat(names.indexOf("transformer/decoder_layer_63/moe/linear/w")).isEqualTo(2 + 60 * 12); // 0,1,10..19,2,20..29,...,6,60,61,62,63 -> 61st layer;
    }

    @Test
    void parsesLayerAndParam() {
        assertThat(ParamNames.layerOf("transformer/decoder_layer_10/moe/linear/w")).isEqualTo(10);
        assertThat(ParamNames.paramOf("transformer/decoder_layer_10/moe/linear/w")).isEqualTo("moe/linear/w");
        assertThat(ParamNames.layerOf(ParamNames.EMBEDDINGS)).isEqualTo(-1);
    }
}
