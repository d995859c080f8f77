package grokkit.export;

import grokkit.model.ModelConfig;

import java.nio.file.Path;
import java.util.List;

/**
 * What the export reads, by the reference's parameter names ({@link grokkit.model.ParamNames}):
 * an xAI {@code ckpt-0} ({@link CheckpointExportSource}) or a {@code grok convert} output
 * directory ({@link ShardExportSource}).
 */
public interface ExportSource extends AutoCloseable {
    ModelConfig config();

    /** The embedding table: {@code vocab} rows of {@code emb} values. */
    Rows embeddings();

    /** A float32 vector (an RMSNorm scale) as one row. */
    Rows vector(String name);

    /** A weight W {@code [in, out]} (attention projection or router) as out-major rows. */
    Rows matrix(String name);

    /** Expert {@code e} of an MoE weight {@code [E, in, out]} as out-major rows. */
    Rows expert(String name, int e);

    /** What the reader inferred or noticed, human-readable. */
    List<String> notes();

    /** The tokenizer the source names (a converted model's manifest), or null. */
    default Path tokenizerHint() {
        return null;
    }

    @Override
    void close();
}
