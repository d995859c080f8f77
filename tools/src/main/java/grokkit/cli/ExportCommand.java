package grokkit.cli;

import grokkit.convert.CheckpointSource;
import grokkit.errors.BadInputException;
import grokkit.export.CheckpointExportSource;
import grokkit.export.ChannelFolds;
import grokkit.export.ExportOptions;
import grokkit.export.ExportSource;
import grokkit.export.Exporter;
import grokkit.export.GgufVocabulary;
import grokkit.export.ShardExportSource;
import grokkit.export.TypeMix;
import grokkit.gguf.GgmlType;
import grokkit.shard.Manifest;
import grokkit.tokenizer.ModelProto;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code grok export SRC OUT.gguf --type TYPE}: xAI's {@code ckpt-0} (or a {@code grok convert}
 * output) → a GGUF file llama.cpp loads as architecture {@code grok} (docs/EXPORT.md).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export xAI's ckpt-0 (or a converted model) to a GGUF file for llama.cpp.",
                "Architecture grok (docs/EXPORT.md): llama.cpp's tensor names and orientation, every hyper-parameter",
                "and the tokenizer (without --tokenizer or one named by a converted model: a placeholder vocabulary).",
                "Progress goes to stderr."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok export ckpt-0 grok-1-q8_0.gguf --type q8_0 --tokenizer tokenizer.model",
                "  grok export ckpt-0 grok-1-q4_k.gguf --type q4_k --split-max-size 50G",
                "  grok export grok-1-int8 grok-1-q8_0.gguf                      (from a converted model)"})
public final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SRC", description = "A ckpt-0 directory (or one containing it), or a grok convert output directory.")
    Path source;

    @Parameters(index = "1", paramLabel = "OUT.gguf", description = "The GGUF file to write (must not exist).")
    Path out;

    @Option(names = "--type", defaultValue = "q8_0", paramLabel = "TYPE",
            description = "Type of the MoE experts: f32, f16, bf16, q8_0, q4_0, iq4_nl, q4_k, q5_k, q6_k (as far as this build "
                    + "has their quantizers); attention and embedding follow the default mix (docs/EXPORT.md) (default ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--attention-type", paramLabel = "TYPE",
            description = "Type of the four attention projections (default: TYPE for f32/f16/bf16/q8_0, else q8_0).")
    String attentionType;

    @Option(names = "--embedding-type", paramLabel = "TYPE",
            description = "Type of the tied embedding / output head token_embd (default: as the attention default).")
    String embeddingType;

    @Mixin
    ImatrixOption imatrix;

    @Option(names = "--split-max-size", paramLabel = "SIZE",
            description = "Split into files of at most SIZE tensor bytes (50G, 500M as llama-gguf-split reads them; also GiB/MiB), "
                    + "named OUT-00001-of-0000N.gguf with llama.cpp's split.* keys.")
    String splitMaxSize;

    /** For a converted-model source, the default is the tokenizer its manifest names; without any, a placeholder vocabulary. */
    @Mixin
    TokenizerOption tokenizer;

    /** For a ckpt-0 source only: a converted model's manifest holds its configuration. */
    @Mixin
    ModelConfigOption modelConfig;

    @Mixin
    ThreadsOption threads;

    @Mixin
    QuietOption quiet;

    @Option(names = "--channel-folds", paramLabel = "WHICH",
            description = "Exact channel rewrites of the MoE layers before quantizing (docs/EXPORT.md, \"Channel folds\"): "
                    + "down,norm | down | norm | none (default: down,norm for experts below 8 bits, none otherwise). "
                    + "Recorded as grok-kit.channel_folds.")
    String channelFolds;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = quiet.progress(spec.commandLine().getErr());
        GgmlType t = TypeMix.parse(type, "--type");
        GgmlType at = attentionType == null ? null : TypeMix.parse(attentionType, "--attention-type");
        GgmlType et = embeddingType == null ? null : TypeMix.parse(embeddingType, "--embedding-type");
        long split = splitMaxSize == null ? 0 : ExportOptions.parseSize(splitMaxSize);
        TypeMix mix = TypeMix.of(t, at, et);
        ExportOptions opts = new ExportOptions(mix, imatrix.file(), split, threads.resolve(), folds(mix));
        try (ExportSource src = open()) {
            for (String note : src.notes()) out.println("source: " + note);
            Path tok = tokenizer.file() != null ? tokenizer.file() : src.tokenizerHint();
            GgufVocabulary vocab = tok == null ? GgufVocabulary.placeholder(src.config()) : vocabulary(tok);
            boolean terminal = System.console() != null && System.console().isTerminal();
            new Exporter(opts, out, err, terminal).export(src, vocab, out());
        }
        out.flush();
        return 0;
    }

    private ChannelFolds.Settings folds(TypeMix mix) throws BadInputException {
        if (channelFolds == null) return ChannelFolds.Settings.defaultFor(mix.experts());
        return switch (channelFolds.trim().toLowerCase(java.util.Locale.ROOT).replace(" ", "")) {
            case "down,norm", "norm,down", "all" -> ChannelFolds.Settings.ALL;
            case "down" -> new ChannelFolds.Settings(true, false);
            case "norm" -> new ChannelFolds.Settings(false, true);
            case "none" -> ChannelFolds.Settings.NONE;
            default -> throw new BadInputException("--channel-folds " + channelFolds + ": expected down,norm, down, norm or none");
        };
    }

    private Path out() {
        return out;
    }

    private ExportSource open() throws IOException {
        if (Files.isRegularFile(source.resolve(Manifest.FILE_NAME))) {
            if (modelConfig.file() != null)
                throw new BadInputException("--model-config: " + source + " is a converted model, whose manifest holds its configuration");
            return ShardExportSource.open(source);
        }
        CheckpointConfig config = CheckpointConfig.resolve(source, modelConfig);
        CheckpointSource cs = CheckpointSource.open(source, config.given(), config.refuseGuesses(), false);
        CheckpointExportSource s = new CheckpointExportSource(cs);
        try {
            s.validate();
        } catch (BadInputException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** The SentencePiece model's pieces, scores, types and special ids, as GGUF's llama vocabulary. */
    static GgufVocabulary vocabulary(Path file) throws BadInputException {
        ModelProto m = ModelProto.read(file);
        List<String> tokens = new ArrayList<>(m.pieces().size());
        float[] scores = new float[m.pieces().size()];
        int[] types = new int[m.pieces().size()];
        for (int i = 0; i < m.pieces().size(); i++) {
            ModelProto.Piece p = m.pieces().get(i);
            tokens.add(p.piece());
            scores[i] = p.score();
            types[i] = switch (p.type()) {
                case NORMAL -> GgufVocabulary.NORMAL;
                case UNKNOWN -> GgufVocabulary.UNKNOWN;
                case CONTROL -> GgufVocabulary.CONTROL;
                case USER_DEFINED -> GgufVocabulary.USER_DEFINED;
                case UNUSED -> GgufVocabulary.UNUSED;
                case BYTE -> GgufVocabulary.BYTE;
            };
        }
        ModelProto.TrainerSpec tr = m.trainer();
        int size = tokens.size();
        int bos = inRange(tr.bosId(), size, 1), eos = inRange(tr.eosId(), size, 2), unk = inRange(tr.unkId(), size, 0), pad = inRange(tr.padId(), size, 0);
        return new GgufVocabulary(tokens, scores, types, bos, eos, unk, pad, false,
                "SentencePiece " + file.getFileName() + ": " + size + " pieces, bos " + bos + ", eos " + eos + ", unk " + unk + ", pad " + pad);
    }

    private static int inRange(int id, int size, int fallback) {
        return id >= 0 && id < size ? id : Math.min(fallback, size - 1);
    }
}
