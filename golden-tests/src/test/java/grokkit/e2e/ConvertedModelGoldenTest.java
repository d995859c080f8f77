package grokkit.e2e;

import grokkit.convert.CheckpointSource;
import grokkit.convert.ConvertHooks;
import grokkit.convert.ConvertOptions;
import grokkit.convert.Converter;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.ShardedModel;
import grokkit.verify.GoldenSet;
import grokkit.verify.Thresholds;
import grokkit.verify.Verifier;
import grokkit.verify.VerifyResult;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole pipeline: ckpt-0 → {@code grok convert}'s converter → sharded directory →
 * {@link ShardedModel} (mapped, Vector API kernels) → runtime → golden comparison with the
 * documented default thresholds: lossless int8 against float32 golden (max |Δ| ≤ 2e-3, same
 * top-1 everywhere, mean KL ≤ 1e-5), and int4 experts with the int4 defaults.
 */
class ConvertedModelGoldenTest {
    @TempDir
    Path tmp;

    static VerifyResult convertAndVerify(Path fixture, Path out, String experts, Thresholds.Family family) throws Exception {
        ConvertOptions opts = ConvertOptions.defaults().withThreads(2).withExperts(experts).withShardSize(1 << 20);
        try (CheckpointSource src = CheckpointSource.open(fixture.resolve("ckpt-0"), givenConfig(fixture))) {
            new Converter(opts, new PrintWriter(new StringWriter()), false, ConvertHooks.NONE).convert(src, out);
        }
        GoldenSet golden = GoldenSet.read(fixture.resolve("golden"));
        try (ShardedModel m = ShardedModel.open(out); GrokModel model = new GrokModel(m, new RuntimeOptions(2, 0, 16))) {
            VerifyResult r = Verifier.verify(golden, "f32", model::forward, out.toString(), Thresholds.defaults(family, "f32"), s -> {});
            System.out.printf(Locale.ROOT, "%s %s experts: max|Δ| %.3g, same top-1 %.3f, mean KL %.3g, p99 KL %.3g -> %s%n",
                    fixture.getFileName(), experts, r.overall().maxAbsDiff(), r.overall().sameTop1Rate(), r.overall().klMean(),
                    r.overall().klP99(), r.passed() ? "pass" : "FAIL " + r.failures());
            return r;
        }
    }

    static void check(Path fixture, Path tmp) throws Exception {
        VerifyResult int8 = convertAndVerify(fixture, tmp.resolve(fixture.getFileName() + "-int8"), "int8", Thresholds.Family.LOSSLESS);
        assertThat(int8.failures()).as("int8 (lossless) vs f32 golden").isEmpty();
        assertThat(int8.overall().maxAbsDiff()).isLessThanOrEqualTo(2e-3);
        assertThat(int8.overall().sameTop1Rate()).isEqualTo(1.0);
        // int4 is q4nl, which takes any input dimension (a ragged last group), so it runs on every
        // fixture, the small ones' ffn_size 344 included.
        VerifyResult int4 = convertAndVerify(fixture, tmp.resolve(fixture.getFileName() + "-int4"), "int4", Thresholds.Family.INT4);
        assertThat(int4.failures()).as("int4 experts vs f32 golden, documented int4 defaults").isEmpty();
        assertThat(int4.overall().klMean()).as("int4 is lossy: a zero KL would mean int4 was not applied").isGreaterThan(int8.overall().klMean());
    }

    @Test
    void sharedPublicTinyConvertsAndRunsWithinThresholds() throws Exception {
        Path tiny = GoldenLogitsTest.sharedTiny();
        Assumptions.assumeTrue(GoldenLogitsTest.isFixture(tiny), "shared fixture " + tiny + " is absent (set -Dgrok.shared=DIR): skipping");
        check(tiny, tmp);
    }

    @TestFactory
    Stream<DynamicTest> committedFixturesConvertAndRunWithinThresholds() throws Exception {
        List<Path> fixtures = GoldenLogitsTest.committedFixtures();
        Assumptions.assumeTrue(!fixtures.isEmpty(), "no committed fixture with ckpt-0/ and golden/golden.json in golden-tests/fixtures yet");
        return fixtures.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> check(f, tmp)));
    }

    /** The fixture's config.json (multipliers are not in the shapes), or null. */
    static grokkit.model.ModelConfig.Parsed givenConfig(Path fixture) throws java.io.IOException {
        Path c = fixture.resolve("config.json");
        return java.nio.file.Files.isRegularFile(c) ? grokkit.model.ModelConfig.read(c, grokkit.model.ModelConfig.grok1()) : null;
    }
}
