package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.convert.CheckpointSource;
import grokkit.convert.ConvertHooks;
import grokkit.convert.ConvertOptions;
import grokkit.convert.Converter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code grok convert CKPT_DIR OUT_DIR}: xAI's {@code ckpt-0} → a sharded, memory-mappable
 * model directory (docs/FORMAT.md), lossless int8 by default or int4 experts/attention.
 */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Convert xAI's ckpt-0 checkpoint into a sharded, memory-mappable model directory.",
                "Keeps xAI's int8 weights bit for bit (default) or re-quantizes experts and attention to int4;",
                "writes conversion-report.json (the error of every re-quantized tensor) and manifest.json last.",
                "Progress goes to stderr; Ctrl-C leaves completed shards, and --resume continues from them.",
                "Format: docs/FORMAT.md."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok convert ckpt-0 grok-1-int8",
                "  grok convert ckpt-0 grok-1-int4 --experts int4 --tokenizer tokenizer.model",
                "  grok convert ckpt-0 grok-1-int4 --experts int4 --resume        (after an interruption)"})
public final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CKPT_DIR", description = "The checkpoint directory (ckpt-0, or a directory containing it).")
    Path checkpoint;

    @Parameters(index = "1", paramLabel = "OUT_DIR", description = "The output directory (created; must be empty unless --resume).")
    Path outDir;

    @Option(names = "--experts", defaultValue = "int8", paramLabel = "ENC",
            description = {"MoE expert weights (default: ${DEFAULT-VALUE}):",
                    "  int8  xAI's values, lossless (8.5 bits/weight with the scales);",
                    "  int4  the best int4 encoding, = q4nl;",
                    "  q4nl  non-uniform 4-bit grid with channel scales (4.25 bits/weight;",
                    "        half the KL of Q4_0 on the 12-layer fixture: docs/benchmarks/int4.md);",
                    "  q4    uniform 4-bit grid, f16 group scales;",
                    "  q4_0  llama.cpp's Q4_0 (a baseline)."})
    String experts;

    @Option(names = "--attention", defaultValue = "int8", paramLabel = "int8|int4",
            description = "Attention projections: int8 (lossless) or int4 (= q4nl) (default: ${DEFAULT-VALUE}).")
    String attention;

    @Option(names = "--embeddings", defaultValue = "f32", paramLabel = "f32|bf16",
            description = "Embedding table: f32 (lossless) or bf16 (default: ${DEFAULT-VALUE}).")
    String embeddings;

    @Option(names = "--group-size", defaultValue = "32", paramLabel = "N",
            description = "int4 group size along the input dimension: 32, 64 or 128 (default: ${DEFAULT-VALUE}).")
    int groupSize;

    @Mixin
    ImatrixOption imatrix;

    @Option(names = "--allow-scale-layout",
            description = "Accept int8 scales whose layout (per-column [1,N] or row-block [8,N]) differs from Grok-1's release for that "
                    + "parameter (recorded in the manifest; without it such a checkpoint is refused).")
    boolean allowScaleLayout;

    @Option(names = "--shard-size", defaultValue = "4GiB", paramLabel = "SIZE",
            description = "Largest shard, e.g. 4GiB or 512MiB (default: ${DEFAULT-VALUE}); a larger tensor gets a shard of its own.")
    String shardSize;

    @Option(names = "--resume", description = "Continue an interrupted conversion: keep the completed shards whose checksums verify.")
    boolean resume;

    @Mixin
    TokenizerOption tokenizer;

    @Mixin
    ModelConfigOption modelConfig;

    @Mixin
    ThreadsOption threads;

    @Mixin
    QuietOption quiet;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter log = quiet.progress(spec.commandLine().getErr());
        ConvertOptions opts = new ConvertOptions(experts, attention, embeddings, groupSize, tokenizer.file(),
                threads.resolve(), ConvertOptions.parseSize(shardSize), resume, imatrix.file());
        opts.validate();
        ModelDirs.requireCheckpointDir(checkpoint, "CKPT_DIR");
        CheckpointConfig config = CheckpointConfig.resolve(checkpoint, modelConfig);
        InterruptHint hint = InterruptHint.install(spec.commandLine().getErr(),
                "grok convert: interrupted; completed shards are kept. Continue with the same command and --resume:\n"
                        + "  grok convert " + checkpoint + " " + outDir + " [the same options] --resume");
        try (CheckpointSource src = CheckpointSource.open(checkpoint, config.given(), config.refuseGuesses(), allowScaleLayout)) {
            if (tokenizer.file() != null) checkTokenizer(tokenizer.file(), src.config().vocabSize());
            log.println(config.describe());
            for (String note : src.configNotes()) log.println("config: " + note);
            log.flush();
            new Converter(opts, out, log, Terminal.stderrIsTerminal(), ConvertHooks.NONE).convert(src, outDir);
        } finally {
            hint.remove();
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
