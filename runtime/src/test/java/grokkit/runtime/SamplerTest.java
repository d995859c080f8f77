package grokkit.runtime;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {
    static float[] randomLogits(SplittableRandom r, int n) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        return l;
    }

    @Test
    void temperatureZeroIsArgmax() {
        SplittableRandom r = new SplittableRandom(1);
        Sampler greedy = new Sampler(0f, 0.9f, 123);
        for (int t = 0; t < 200; t++) {
            float[] l = randomLogits(r, 1 + r.nextInt(500));
            int expected = 0;
            for (int i = 0; i < l.length; i++) {
                if (l[i] > l[expected]) {
                    expected = i;
                }
            }
            assertThat(greedy.sample(l)).isEqualTo(expected);
        }
        assertThat(Sampler.argmax(new float[] {1, 5, 5, 2})).isEqualTo(1);
    }

    @Test
    void nucleusKeepsTheSmallestTopSetWithMassAtLeastP() {
        SplittableRandom r = new SplittableRandom(2);
        for (int t = 0; t < 300; t++) {
            float[] l = randomLogits(r, 2 + r.nextInt(300));
            float p = (float) (0.05 + 0.9 * r.nextDouble());
            boolean[] keep = Sampler.nucleus(l, p);
            double[] prob = softmax(l);
            double kept = 0, minKept = Double.MAX_VALUE, maxDropped = -1;
            for (int i = 0; i < l.length; i++) {
                if (keep[i]) {
                    kept += prob[i];
                    minKept = Math.min(minKept, prob[i]);
                } else {
                    maxDropped = Math.max(maxDropped, prob[i]);
                }
            }
            assertThat(kept).as("mass of the kept set").isGreaterThanOrEqualTo(p - 1e-6);
            assertThat(maxDropped).as("every dropped token is less likely than every kept one").isLessThan(minKept);
            assertThat(kept - minKept).as("without its least likely token the set is below p").isLessThan(p + 1e-6);
        }
    }

    @Test
    void tinyTopPAlwaysPicksTheMostLikelyToken() {
        SplittableRandom r = new SplittableRandom(3);
        Sampler s = new Sampler(1.5f, 1e-6f, 9);
        for (int t = 0; t < 100; t++) {
            float[] l = randomLogits(r, 100);
            assertThat(s.sample(l)).isEqualTo(Sampler.argmax(l));
        }
    }

    @Test
    void sameSeedSameSequenceOtherSeedOtherSequence() {
        float[] l = randomLogits(new SplittableRandom(4), 1000);
        int[] a = draw(new Sampler(1f, 0.95f, 42), l, 200);
        int[] b = draw(new Sampler(1f, 0.95f, 42), l, 200);
        int[] c = draw(new Sampler(1f, 0.95f, 43), l, 200);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        double[] p = {0.5, 0.3, 0.15, 0.05};
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            l[i] = (float) Math.log(p[i]);
        }
        int draws = 40_000;
        for (float temperature : new float[] {1f, 2f, 0.5f}) {
            Sampler s = new Sampler(temperature, 1f, 77);
            int[] counts = new int[p.length];
            for (int i = 0; i < draws; i++) {
                counts[s.sample(l)]++;
            }
            double[] expected = new double[p.length];
            double z = 0;
            for (int i = 0; i < p.length; i++) {
                z += expected[i] = Math.pow(p[i], 1 / temperature);
            }
            for (int i = 0; i < p.length; i++) {
                double freq = counts[i] / (double) draws;
                double sd = Math.sqrt(expected[i] / z * (1 - expected[i] / z) / draws);
                assertThat(freq).as("T=%s token %d, counts %s", temperature, i, Arrays.toString(counts))
                        .isCloseTo(expected[i] / z, within(5 * sd + 1e-4));
            }
        }
    }

    @Test
    void topPRestrictsDrawsToTheNucleus() {
        float[] l = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        Sampler s = new Sampler(1f, 0.75f, 5); // nucleus {0, 1}: mass 0.8 ≥ 0.75
        int[] counts = new int[4];
        for (int i = 0; i < 20_000; i++) {
            counts[s.sample(l)]++;
        }
        assertThat(counts[2] + counts[3]).isZero();
        assertThat(counts[0] / 20_000.0).isCloseTo(0.5 / 0.8, within(0.02));
    }

    @Test
    void rejectsBadSettings() {
        assertThatThrownBy(() -> new Sampler(-1f, 1f, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(Float.NaN, 1f, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(1f, 0f, 0)).hasMessageContaining("top-p");
        assertThatThrownBy(() -> new Sampler(1f, 1.5f, 0)).hasMessageContaining("top-p");
    }

    static int[] draw(Sampler s, float[] l, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = s.sample(l);
        }
        return out;
    }

    static double[] softmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY, z = 0;
        for (float x : l) {
            max = Math.max(max, x);
        }
        double[] p = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            z += p[i] = Math.exp(l[i] - max);
        }
        for (int i = 0; i < l.length; i++) {
            p[i] /= z;
        }
        return p;
    }
}
