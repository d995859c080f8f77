package grokkit.export;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.quant.Dequantizer;
import grokkit.shard.ShardedModel;
import grokkit.shard.TensorRecord;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A {@code grok convert} output directory as an export source: each record decoded to float32
 * by the reference decoder ({@link Dequantizer}): lossless int8 records give xAI's exact
 * {@code q·s}; re-quantized ones (q4nl, q4, ...) give their stored values.
 */
public final class ShardExportSource implements ExportSource {
    private final ShardedModel model;
    private final ModelConfig config;

    private ShardExportSource(ShardedModel model) throws BadInputException {
        this.model = model;
        this.config = model.manifest().modelConfig();
    }

    public static ShardExportSource open(Path dir) throws IOException {
        return new ShardExportSource(ShardedModel.open(dir));
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public Rows embeddings() {
        return rows(model.record(ParamNames.EMBEDDINGS, null));
    }

    @Override
    public Rows vector(String name) {
        return rows(model.record(name, null));
    }

    @Override
    public Rows matrix(String name) {
        return rows(model.record(name, null));
    }

    @Override
    public Rows expert(String name, int e) {
        return rows(model.record(name, e));
    }

    private Rows rows(TensorRecord t) {
        MemorySegment w = model.weights(t), s = model.scales(t);
        int in = t.in(), out = t.out();
        grokkit.quant.EncodingSpec spec = t.spec();
        long bytes = t.weights().length() + (t.scales() == null ? 0 : t.scales().length());
        return new Rows() {
            @Override public int in() { return in; }
            @Override public int out() { return out; }
            @Override public long sourceBytes() { return bytes; }

            @Override
            public void read(int o0, int n, float[] dst) {
                float[] row = new float[in];
                for (int t = 0; t < n; t++) {
                    Dequantizer.row(spec, w, s, in, o0 + t, row);
                    System.arraycopy(row, 0, dst, t * in, in);
                }
            }
        };
    }

    @Override
    public List<String> notes() {
        return List.of("reading the converted model " + model.directory() + " (encodings as recorded in its manifest)");
    }

    @Override
    public Path tokenizerHint() {
        String name = model.manifest().tokenizer();
        if (name == null) return null;
        Path p = model.directory().resolve(name);
        return Files.isRegularFile(p) ? p : null;
    }

    @Override
    public void close() {
        model.close();
    }
}
