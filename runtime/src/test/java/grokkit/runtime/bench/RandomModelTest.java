package grokkit.runtime.bench;

import grokkit.model.ParamNames;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RandomModelTest {
    @Test
    void everyBenchmarkEncodingBuildsARunnableModelWithSaneLogits() throws Exception {
        for (String enc : new String[] {"int8", "q8", "q4", "q4_0", "q4nl"}) {
            try (RandomModel w = new RandomModel(RandomModel.miniShape(), enc, enc, 1);
                 GrokModel m = new GrokModel(w, new RuntimeOptions(2, 0, 8))) {
                assertThat(w.expert(ParamNames.layer(1, ParamNames.MOE_LINEAR_1), 3).encoding())
                        .isEqualTo(RandomModel.spec(enc, 512, true).name());
                float[][] logits = m.forward(new int[] {5, 17, 99});
                double sumSq = 0;
                for (float[] row : logits) for (float v : row) {
                    assertThat(Float.isFinite(v)).as(enc).isTrue();
                    sumSq += v * v;
                }
                double rms = Math.sqrt(sumSq / (3.0 * 1000));
                assertThat(rms).as("%s logit RMS", enc).isBetween(0.01, 100.0);
            }
        }
    }

    @Test
    void int8UsesXaisRowBlockLayout() {
        assertThat(RandomModel.spec("int8", 32768, true).groupSize()).isEqualTo(4096);
        assertThat(RandomModel.spec("int8", 6144, false).groupSize()).isEqualTo(6144);
        assertThatThrownBy(() -> RandomModel.spec("q3", 64, false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q3");
    }
}
