package grokkit.export;

import grokkit.convert.ConversionSource;
import grokkit.convert.MatrixRows;
import grokkit.convert.SourceTensor;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;

import java.util.List;

/**
 * An xAI checkpoint (through the converter's zero-copy reader) as an export source. int8
 * weights are dequantized to xAI's {@code q·s}, exact in float32, per row block of the scales.
 */
public final class CheckpointExportSource implements ExportSource {
    private final ConversionSource src;

    public CheckpointExportSource(ConversionSource src) {
        this.src = src;
    }

    private SourceTensor get(String name) {
        try {
            return src.tensor(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint has no tensor " + name, e);
        }
    }

    @Override
    public ModelConfig config() {
        return src.config();
    }

    @Override
    public Rows embeddings() {
        return rows(MatrixRows.embeddings(get(grokkit.model.ParamNames.EMBEDDINGS)));
    }

    @Override
    public Rows vector(String name) {
        return rows(MatrixRows.vector(get(name)));
    }

    @Override
    public Rows matrix(String name) {
        return rows(MatrixRows.weight(get(name)));
    }

    @Override
    public Rows expert(String name, int e) {
        SourceTensor t = get(name);
        if (!t.quantized() || t.weight().rank() != 3)
            throw new IllegalArgumentException(name + ": expected int8 expert weights [experts, in, out], found " + t.weight());
        return rows(MatrixRows.expert(t, e));
    }

    /** Checks that every expected tensor is there and is of the expected kind before anything is written. */
    public void validate() throws BadInputException {
        for (SourceTensor t : src.tensors())
            if (t.quantized() && t.weight().dim(-2) % t.rowBlocks() != 0)
                throw new BadInputException(t.name() + ": " + t.weight().dim(-2) + " input rows do not split into " + t.rowBlocks() + " scale row blocks");
    }

    private static Rows rows(MatrixRows m) {
        return new Rows() {
            @Override public int in() { return m.in(); }
            @Override public int out() { return m.out(); }
            @Override public long sourceBytes() { return m.sourceBytes(); }
            @Override public void read(int o0, int n, float[] dst) { m.read(o0, n, dst); }
        };
    }

    @Override
    public List<String> notes() {
        return src.configNotes();
    }

    @Override
    public void close() {
        src.close();
    }
}
