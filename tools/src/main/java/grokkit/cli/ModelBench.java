package grokkit.cli;

import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import grokkit.model.ModelWeights;
import grokkit.model.ParamNames;
import grokkit.quant.kernels.MemoryBandwidth;
import grokkit.quant.kernels.ParallelMatmul;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.runtime.bench.RandomModel;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What {@code grok bench decode} and {@code grok bench prefill} share: the model under test
 * (random weights at the small Grok shape or at Grok-1's widths, or a converted model
 * directory), the thread count, the memory-bandwidth probe measured in the same run, and the
 * projection of a one-layer model to 64 layers.
 */
abstract class ModelBench {
    @Option(names = "--shape", defaultValue = "small", paramLabel = "SHAPE",
            description = {"The random model (default: ${DEFAULT-VALUE}): small = emb 2048, 16 q / 4 kv heads of 128, ffn 8192,",
                    "8 experts top-2, 4 layers, vocab 32000; grok1-layer = Grok-1's widths, 1 layer, projected to 64; mini = a smoke test."})
    String shape;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Benchmark a converted model directory (grok convert) instead of random weights; --shape, --layers and the encodings are then ignored.")
    Path modelDir;

    @Option(names = "--layers", paramLabel = "N", description = "Layers to build (default: 4 for small, 1 for grok1-layer).")
    Integer layers;

    @Option(names = "--experts", paramLabel = "N",
            description = "Build only N experts (num_selected_experts stays): a decode step reads the same bytes "
                    + "(the selected experts) with far less memory; prefill then groups more tokens per expert.")
    Integer experts;

    @Option(names = "--project-layers", paramLabel = "N",
            description = "Also report the time per token projected to N layers (default: 64 for grok1-layer).")
    Integer projectLayers;

    @Option(names = "--encoding", defaultValue = "q8", paramLabel = "ENC",
            description = "Attention and expert weights: int8 (xAI's, lossless), q8 (Q8_0-like), q4, q4_0, q4nl (= int4, the converter's default int4). Default: ${DEFAULT-VALUE}.")
    String encoding;

    @Option(names = "--embedding-encoding", paramLabel = "ENC", description = "Tied embedding/output matrix encoding (default: as --encoding).")
    String embeddingEncoding;

    @picocli.CommandLine.Mixin
    ThreadsOption threadsOption;

    @Option(names = "--probe-mb", defaultValue = "512", paramLabel = "N", description = "MiB streamed by the bandwidth probe. Default: ${DEFAULT-VALUE}.")
    int probeMb;

    @Option(names = "--load-warmup", description = "Warm the kernels up when the model is opened, as grok run does, and report the time it takes.")
    boolean loadWarmup;

    final PrintStream out = System.out;

    int threads() throws BadInputException {
        return threadsOption.resolve();
    }

    ModelConfig config() throws BadInputException {
        ModelConfig c = shapeConfig();
        if (experts == null) return c;
        if (experts < c.numSelectedExperts()) throw new BadInputException("--experts must be >= num_selected_experts (" + c.numSelectedExperts() + ")");
        return new ModelConfig(c.vocabSize(), c.embSize(), c.keySize(), c.numQHeads(), c.numKvHeads(), c.numLayers(), experts,
                c.numSelectedExperts(), c.wideningFactor(), c.ffnSize(), c.embeddingMultiplierScale(), c.outputMultiplierScale(),
                c.attnOutputMultiplier(), c.attnLogitCap(), c.rmsNormEps(), c.ropeBase(), c.padToken(), c.eosToken(), c.sequenceLen());
    }

    private ModelConfig shapeConfig() throws BadInputException {
        return switch (shape) {
            case "small" -> withLayers(RandomModel.smallGrokShape(), layers == null ? 4 : layers);
            case "grok1-layer" -> RandomModel.grok1Widths(layers == null ? 1 : layers);
            case "mini" -> withLayers(RandomModel.miniShape(), layers == null ? 2 : layers);
            default -> throw new BadInputException("--shape: unknown shape '" + shape + "' (small, grok1-layer, mini)");
        };
    }

    /** Layers to project the per-token time to (0: none); one-layer full-width models default to Grok-1's 64. */
    int projection(ModelConfig c) {
        if (projectLayers != null) return projectLayers;
        return c.numLayers() == 1 && c.embSize() == ModelConfig.grok1().embSize() ? 64 : 0;
    }

    /** What runs: the converted model of --model, or random weights of --shape. */
    ModelWeights weights() throws java.io.IOException {
        if (modelDir == null) return buildRandom();
        long t0 = System.nanoTime();
        ModelWeights w = ModelDirs.open(modelDir, "--model");
        ModelConfig c = w.config();
        out.printf(Locale.ROOT, "model: %s, %d layers, emb %d, ffn %d, vocab %d; %s experts, %s embeddings; opened in %.1f s%n",
                modelDir, c.numLayers(), c.embSize(), c.ffnSize(), c.vocabSize(),
                w.expert(ParamNames.layer(0, ParamNames.MOE_LINEAR), 0).encoding(), w.embeddings().encoding(), (System.nanoTime() - t0) / 1e9);
        return w;
    }

    /** A short label of the weights for the summary line. */
    String label(ModelWeights w) {
        return modelDir != null ? modelDir.getFileName() + " (" + w.expert(ParamNames.layer(0, ParamNames.MOE_LINEAR), 0).encoding() + ")"
                : shape + " " + encoding;
    }

    private static ModelConfig withLayers(ModelConfig c, int n) {
        return new ModelConfig(c.vocabSize(), c.embSize(), c.keySize(), c.numQHeads(), c.numKvHeads(), n, c.numExperts(),
                c.numSelectedExperts(), c.wideningFactor(), c.ffnSize(), c.embeddingMultiplierScale(), c.outputMultiplierScale(),
                c.attnOutputMultiplier(), c.attnLogitCap(), c.rmsNormEps(), c.ropeBase(), c.padToken(), c.eosToken(), c.sequenceLen());
    }

    RandomModel buildRandom() throws BadInputException {
        ModelConfig c = config();
        try {
            RandomModel.spec(encoding, 64, false);
            if (embeddingEncoding != null) RandomModel.spec(embeddingEncoding, 64, false);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--encoding: " + e.getMessage());
        }
        long t0 = System.nanoTime();
        RandomModel m = new RandomModel(c, encoding, embeddingEncoding == null ? encoding : embeddingEncoding, 1);
        out.printf(Locale.ROOT, "model: %s shape, %d layers, %d experts (top-%d), %s weights (%s embeddings), %.2f GB, built in %.1f s%n",
                shape, c.numLayers(), c.numExperts(), c.numSelectedExperts(), encoding, embeddingEncoding == null ? encoding : embeddingEncoding,
                m.bytes() / 1e9, (System.nanoTime() - t0) / 1e9);
        return m;
    }

    GrokModel open(ModelWeights w, int prefillChunk) throws BadInputException {
        long t0 = System.nanoTime();
        GrokModel m = new GrokModel(w, new RuntimeOptions(threads(), 0, prefillChunk, loadWarmup));
        if (loadWarmup) out.printf(Locale.ROOT, "warm-up at load: %.0f ms%n", (System.nanoTime() - t0) / 1e6);
        return m;
    }

    /** Bytes of weights one decode step reads: per layer attention, router and the selected experts; the output head. */
    static long[] decodeBytes(ModelWeights w) {
        ModelConfig c = w.config();
        long layer = 0;
        for (String p : new String[] {ParamNames.ATTN_QUERY, ParamNames.ATTN_KEY, ParamNames.ATTN_VALUE, ParamNames.ATTN_OUT, ParamNames.ROUTER})
            layer += w.matrix(ParamNames.layer(0, p)).byteSize();
        for (String p : new String[] {ParamNames.MOE_LINEAR, ParamNames.MOE_LINEAR_V, ParamNames.MOE_LINEAR_1})
            layer += (long) c.numSelectedExperts() * w.expert(ParamNames.layer(0, p), 0).byteSize();
        return new long[] {layer, w.embeddings().byteSize()};
    }

    /** Streaming int8-sum read bandwidth (GB/s, best of 3) on this run's thread count. */
    double probeBandwidth() throws BadInputException {
        long len = (long) probeMb << 20;
        try (Arena arena = Arena.ofShared(); ParallelMatmul pool = new ParallelMatmul(threads())) {
            MemorySegment seg = arena.allocate(len, 4096);
            seg.fill((byte) 1);
            double best = 0;
            long sink = 0;
            for (int rep = 0; rep < 4; rep++) {
                long t0 = System.nanoTime();
                sink += MemoryBandwidth.sum(pool, seg, 0, len);
                double gbs = len / (double) (System.nanoTime() - t0);
                if (rep > 0) best = Math.max(best, gbs);
            }
            if (sink == 42) out.print("");
            return best;
        }
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
        return t;
    }

    static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    void printContext(int threads) {
        out.printf(Locale.ROOT, "machine: %d processors, %d threads used, load average %.2f; java %s%n",
                Runtime.getRuntime().availableProcessors(), threads, loadAverage(), System.getProperty("java.version"));
    }

}
