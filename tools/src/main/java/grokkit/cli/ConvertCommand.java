package grokkit.cli;

import grokkit.convert.CheckpointSource;
import grokkit.convert.ConvertHooks;
import grokkit.convert.ConvertOptions;
import grokkit.convert.Converter;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code grok convert CKPT_DIR OUT_DIR}: xAI's {@code ckpt-0} → a sharded, memory-mappable
 * model directory (docs/FORMAT.md), lossless int8 by default or int4 experts/attention.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert xAI's ckpt-0 checkpoint into a sharded model directory (docs/FORMAT.md).",
                "Keeps xAI's int8 weights bit for bit (default) or re-quantizes experts/attention to int4;",
                "writes conversion-report.json (error of every re-quantized tensor) and manifest.json last.",
                "  grok convert ckpt-0 grok-1-int8",
                "  grok convert ckpt-0 grok-1-int4 --experts int4 --tokenizer tokenizer.model"})
public final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CKPT_DIR", description = "The checkpoint directory (ckpt-0, or a directory containing it).")
    Path checkpoint;

    @Parameters(index = "1", paramLabel = "OUT_DIR", description = "The output directory (created; must be empty unless --resume).")
    Path outDir;

    @Option(names = "--experts", defaultValue = "int8", paramLabel = "int8|int4|q4|q4nl|q4_0",
            description = "MoE expert weights: int8 = xAI's values, lossless; int4 = the best int4 encoding, q4nl: non-uniform "
                    + "grid with channel scales (4.25 bits/weight, 0.50x Q4_0's KL on the 12-layer fixture, docs/benchmarks/int4.md); q4 = uniform grid, "
                    + "f16 group scales; q4_0 = llama.cpp's Q4_0 (baseline) (default ${DEFAULT-VALUE}).")
    String experts;

    @Option(names = "--attention", defaultValue = "int8", paramLabel = "int8|int4",
            description = "Attention projections: int8 (lossless) or int4 (= q4nl) (default ${DEFAULT-VALUE}).")
    String attention;

    @Option(names = "--embeddings", defaultValue = "f32", paramLabel = "f32|bf16",
            description = "Embedding table: f32 (lossless) or bf16 (default ${DEFAULT-VALUE}).")
    String embeddings;

    @Option(names = "--group-size", defaultValue = "32", paramLabel = "N",
            description = "int4 group size along the input dimension: 32, 64 or 128 (default ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "A tokenizer file to copy into OUT_DIR and name in the manifest.")
    Path tokenizer;

    @Option(names = "--model-config", paramLabel = "FILE",
            description = "Model configuration JSON (reference field names); absent fields are inferred from shapes or default to Grok-1.")
    Path modelConfig;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--shard-size", defaultValue = "4GiB", paramLabel = "SIZE",
            description = "Maximum shard size, e.g. 4GiB, 512MiB (default ${DEFAULT-VALUE}); a larger single tensor gets its own shard.")
    String shardSize;

    @Option(names = "--resume", description = "Continue an interrupted conversion: keep completed shards whose checksums verify.")
    boolean resume;

    @Option(names = "--imatrix", paramLabel = "FILE",
            description = {"An importance matrix (grok imatrix): weight the q4nl experts' error per input channel by the",
                    "mean squared input seen on calibration text. Only with --experts int4 or q4nl."})
    Path imatrix;

    @Option(names = "--allow-scale-layout",
            description = "Accept int8 scales whose layout (per-column [1,N] or row-block [8,N]) differs from Grok-1's release for that "
                    + "parameter (recorded in the manifest; without it such a checkpoint is refused).")
    boolean allowScaleLayout;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        ConvertOptions opts = new ConvertOptions(experts, attention, embeddings, groupSize, tokenizer,
                threads == null ? Runtime.getRuntime().availableProcessors() : threads, ConvertOptions.parseSize(shardSize), resume, imatrix);
        opts.validate();
        ModelConfig.Parsed given = null;
        if (modelConfig != null) {
            grokkit.io.InputFiles.requireRegularFile(modelConfig, "--model-config");
            try {
                given = ModelConfig.read(modelConfig, ModelConfig.grok1());
            } catch (BadInputException e) {
                throw e;
            } catch (IOException e) {
                throw new BadInputException("--model-config " + e.getMessage(), e);
            }
        }
        try (CheckpointSource src = CheckpointSource.open(checkpoint, given, allowScaleLayout)) {
            if (tokenizer != null) checkTokenizer(tokenizer, src.config().vocabSize());
            for (String note : src.configNotes()) out.println("config: " + note);
            out.flush();
            boolean terminal = System.console() != null && System.console().isTerminal();
            new Converter(opts, out, terminal, ConvertHooks.NONE).convert(src, outDir);
        }
        out.println("converted " + checkpoint + " → " + outDir + " (check it any time with: grok check " + outDir + ")");
        out.flush();
        return 0;
    }

    /**
     * The tokenizer is copied into the model only if it is a SentencePiece model the runtime can
     * load and every id it produces is a row of the embedding table. (The check lives here: the
     * converter module does not depend on the runtime, which owns the tokenizer parser.)
     */
    static void checkTokenizer(Path file, int vocabSize) throws BadInputException {
        grokkit.io.InputFiles.requireRegularFile(file, "--tokenizer");
        grokkit.tokenizer.SentencePieceTokenizer tok;
        try {
            tok = grokkit.tokenizer.SentencePieceTokenizer.load(file);
        } catch (BadInputException e) {
            throw new BadInputException("--tokenizer " + e.getMessage(), e);
        }
        if (tok.vocabSize() > vocabSize)
            throw new BadInputException("--tokenizer " + file + ": has " + tok.vocabSize() + " pieces, but the checkpoint's vocab_size is "
                    + vocabSize + " (ids from " + vocabSize + " up would have no embedding): not this model's tokenizer");
    }
}
