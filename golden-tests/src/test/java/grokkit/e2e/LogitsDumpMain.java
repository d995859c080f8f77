package grokkit.e2e;

import grokkit.io.Npy;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.ShardedModel;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Run in a fresh JVM by {@link ReproducibleLogitsTest}: {@code MODEL_DIR OUT_PREFIX THREADS BATCH
 * IDS[;IDS...]} writes each prompt's logits (all positions) to {@code OUT_PREFIX<k>.npy}.
 */
public final class LogitsDumpMain {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        String prefix = args[1];
        int threads = Integer.parseInt(args[2]), batch = Integer.parseInt(args[3]);
        String[] prompts = args[4].split(";");
        try (ShardedModel w = ShardedModel.open(model);
             GrokModel m = new GrokModel(w, new RuntimeOptions(threads, 0, batch, false))) {
            for (int k = 0; k < prompts.length; k++) {
                int[] ids = Arrays.stream(prompts[k].split(",")).mapToInt(Integer::parseInt).toArray();
                Npy.write(Path.of(prefix + k + ".npy"), m.forward(ids));
            }
        }
    }
}
