package grokkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.checkpoint.SyntheticCheckpoint;
import grokkit.model.ParamNames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: an int8 weight whose scales use another layout than Grok-1's release for that
 * parameter (the query projection with row-block {@code [8, N]} scales instead of per-column
 * {@code [1, N]}) is refused by inspect and convert, naming both layouts, unless
 * {@code --allow-scale-layout} is given, which the manifest records.
 */
class ScaleLayoutTest {
    /** A copy of the tiny fixture whose layer-0 query projection has row-block scales. */
    static Path rowBlockQuery(Path tmp) throws Exception {
        Path fixture = LogitsCommandTest.fixture("tiny-np2-p5");
        Path ckpt = tmp.resolve("ckpt-0");
        Files.createDirectories(ckpt);
        try (var s = Files.list(fixture.resolve("ckpt-0"))) {
            for (Path f : s.toList()) Files.copy(f, ckpt.resolve(f.getFileName()));
        }
        String query = ParamNames.layer(0, ParamNames.ATTN_QUERY);
        int index = ParamNames.checkpointOrder(3).indexOf(query);
        byte[] pickle = SyntheticCheckpoint.qw8File(SyntheticCheckpoint.Style.RELEASE, new long[]{64, 64}, 8, new SplittableRandom(3));
        Files.write(ckpt.resolve(String.format("tensor%05d_000", index)), pickle);
        return ckpt;
    }

    @Test
    void aNonReleaseScaleLayoutIsRefusedUnlessAllowed(@TempDir Path tmp) throws Exception {
        Path ckpt = rowBlockQuery(tmp);
        String config = LogitsCommandTest.fixture("tiny-np2-p5").resolve("config.json").toString();
        for (List<String> args : List.of(List.of("inspect", ckpt.toString(), "--model-config", config),
                List.of("convert", ckpt.toString(), tmp.resolve("out").toString(), "--model-config", config))) {
            FaultsTest.Run r = FaultsTest.run(args.toArray(String[]::new));
            assertThat(r.code()).as(args + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains("multi_head_attention/query/w").contains("row-block ([..., 8, N])")
                    .contains("per-column ([..., 1, N])").contains("--allow-scale-layout");
            r.assertNoStackTrace();
        }
        assertThat(tmp.resolve("out")).doesNotExist();

        assertThat(FaultsTest.run("inspect", ckpt.toString(), "--model-config", config, "--allow-scale-layout").code()).isZero();
        Path model = tmp.resolve("model");
        FaultsTest.Run r = FaultsTest.run("convert", ckpt.toString(), model.toString(), "--model-config", config, "--allow-scale-layout");
        assertThat(r.code()).as(r.err()).isZero();
        var manifest = new ObjectMapper().readTree(model.resolve("manifest.json").toFile());
        assertThat(manifest.path("conversion").path("allow_scale_layout").asBoolean()).isTrue();
        var q = java.util.stream.StreamSupport.stream(manifest.get("tensors").spliterator(), false)
                .filter(t -> t.get("name").asText().equals(ParamNames.layer(0, ParamNames.ATTN_QUERY))).findFirst().orElseThrow();
        assertThat(q.path("encoding").path("group_size").asInt()).as("8 row blocks of 64 rows: groups of 8").isEqualTo(8);
        assertThat(FaultsTest.run("logits", model.toString(), "--tokens", "5,17", "--out", tmp.resolve("l.npy").toString()).code()).isZero();
        // The default conversion of the release layout records nothing.
        Path plain = LogitsCommandTest.convert(LogitsCommandTest.fixture("tiny-np2-p5"), tmp.resolve("plain"));
        assertThat(new ObjectMapper().readTree(plain.resolve("manifest.json").toFile()).path("conversion").has("allow_scale_layout")).isFalse();
    }
}
