package grokkit.checkpoint;

import grokkit.model.ModelConfig;
import grokkit.model.ParamNames;
import grokkit.pickle.PickleWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a small checkpoint in the exact {@code ckpt-0} format for a configuration, with
 * deterministic pseudo-random contents, so Java tests (here and in other modules) can make
 * checkpoints of any shape and layer count without Python. The scale layouts follow Grok-1:
 * row-block (8) for the attention output and {@code moe/linear_1}, per-column elsewhere.
 */
public final class SyntheticCheckpoint {
    /**
     * How the pickles are spelled.
     *
     * @param protocol 3, 4 (the release's default) or 5
     * @param numpy    numpy 1.x or 2.x module names
     * @param qwModule module of the QuantizedWeight8bit class: {@code __main__} or {@code model}
     */
    public record Style(int protocol, PickleWriter.NumpyStyle numpy, String qwModule) {
        public static final Style RELEASE = new Style(4, PickleWriter.NumpyStyle.NUMPY1, "__main__");
    }

    private SyntheticCheckpoint() {}

    /** Arrays larger than this are written as sparse holes of zeros (see {@link PickleWriter#bytesHole}). */
    public static final long SPARSE_ABOVE_BYTES = 32L << 20;

    /**
     * Writes {@code tensor00000_000} ... into {@code dir} (created if absent). Arrays above
     * {@link #SPARSE_ABOVE_BYTES} are zeros in sparse files, so even a full-width Grok-1 layer
     * (about 8.5 GB) takes seconds and little disk.
     */
    public static void write(Path dir, ModelConfig config, Style style, long seed) throws IOException {
        Files.createDirectories(dir);
        List<String> names = ParamNames.checkpointOrder(config.numLayers());
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            CheckpointValidator.Expected e = CheckpointValidator.expected(name, config);
            Path file = dir.resolve(CheckpointLayout.fileName(i));
            long elements = count(e.dims());
            if (e.kind() == TensorKind.F32 && elements * 4 > SPARSE_ABOVE_BYTES) {
                new PickleWriter(style.protocol(), style.numpy()).sparseArray("f4", '<', e.dims(), elements * 4).stop().writeTo(file);
            } else if (e.kind() == TensorKind.F32) {
                Files.write(file, f32File(style, e.dims(), random));
            } else if (elements > SPARSE_ABOVE_BYTES) {
                long[] scalesShape = e.dims().clone();
                scalesShape[scalesShape.length - 2] = rowBlocks(name);
                new PickleWriter(style.protocol(), style.numpy())
                        .sparseQuantizedWeight(style.qwModule(), e.dims(), scalesShape, bf16Scales(count(scalesShape), random))
                        .stop().writeTo(file);
            } else {
                Files.write(file, qw8File(style, e.dims(), rowBlocks(name), random));
            }
        }
    }

    /** Grok-1's scale layout for a parameter: 8 row blocks or 1 (per column). */
    public static int rowBlocks(String name) {
        return Math.max(1, ParamNames.releaseScaleRowBlocks(name));
    }

    /** A pickled float32 array of values in [-1, 1). */
    public static byte[] f32File(Style style, long[] shape, SplittableRandom random) {
        int n = Math.toIntExact(count(shape));
        byte[] data = new byte[n * 4];
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits((float) (random.nextDouble() * 2 - 1));
            for (int b = 0; b < 4; b++) data[4 * i + b] = (byte) (bits >>> (8 * b));
        }
        return new PickleWriter(style.protocol(), style.numpy()).array("f4", '<', shape, data).stop().toByteArray();
    }

    /** A pickled QuantizedWeight8bit with random int8 weights and positive bf16 scales. */
    public static byte[] qw8File(Style style, long[] weightShape, int rowBlocks, SplittableRandom random) {
        byte[] weight = new byte[Math.toIntExact(count(weightShape))];
        for (int i = 0; i < weight.length; i++) weight[i] = (byte) (random.nextInt(255) - 127);
        long[] scalesShape = weightShape.clone();
        scalesShape[scalesShape.length - 2] = rowBlocks;
        byte[] scales = bf16Scales(count(scalesShape), random);
        return new PickleWriter(style.protocol(), style.numpy())
                .quantizedWeight(style.qwModule(), weightShape, weight, scalesShape, scales).stop().toByteArray();
    }

    /** Positive bf16 scales around 0.001-0.011, little-endian. */
    static byte[] bf16Scales(long count, SplittableRandom random) {
        int n = Math.toIntExact(count);
        byte[] scales = new byte[n * 2];
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits((float) (0.001 + random.nextDouble() * 0.01)) >>> 16;
            scales[2 * i] = (byte) bits;
            scales[2 * i + 1] = (byte) (bits >>> 8);
        }
        return scales;
    }

    /**
     * Fills every array payload of a written checkpoint with pseudo-random bytes, so the files
     * are dense (for I/O benchmarks). Streams in 16 MiB chunks; bounded heap.
     */
    public static void fillDense(Path dir) throws IOException {
        java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocateDirect(16 << 20);
        long x = 0x9E3779B97F4A7C15L;
        try (Checkpoint ckpt = Checkpoint.open(dir, null)) {
            for (CheckpointTensor t : ckpt.tensors()) {
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(t.weight().file(),
                        java.nio.file.StandardOpenOption.WRITE)) {
                    for (ArrayDescriptor a : t.arrays()) {
                        if (a.byteLength() <= SPARSE_ABOVE_BYTES) continue; // small arrays already hold data
                        for (long done = 0; done < a.byteLength(); ) {
                            chunk.clear();
                            int n = (int) Math.min(chunk.capacity(), a.byteLength() - done);
                            for (int i = 0; i + 8 <= n; i += 8) {
                                x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
                                chunk.putLong(i, x & 0x3f3f3f3f3f3f3f3fL); // finite floats, any int8
                            }
                            chunk.limit(n);
                            while (chunk.hasRemaining()) done += ch.write(chunk, a.offset() + done);
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code java -cp grok.jar grokkit.checkpoint.SyntheticCheckpoint OUT_DIR LAYERS [--dense]}:
     * writes a Grok-1-width checkpoint (vocab 131072, emb 6144, ffn 32768, 8 experts) with
     * LAYERS layers; big arrays are sparse zeros unless {@code --dense}. One layer is about 8.5 GB;
     * 64 layers is the full 770-file, ~318 GB layout (sparse: little real disk).
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: SyntheticCheckpoint OUT_DIR LAYERS [--dense]");
            System.exit(2);
        }
        ModelConfig g = ModelConfig.grok1();
        ModelConfig c = new ModelConfig(g.vocabSize(), g.embSize(), g.keySize(), g.numQHeads(), g.numKvHeads(),
                Integer.parseInt(args[1]), g.numExperts(), g.numSelectedExperts(), g.wideningFactor(), g.ffnSize(),
                g.embeddingMultiplierScale(), g.outputMultiplierScale(), g.attnOutputMultiplier(), g.attnLogitCap(),
                g.rmsNormEps(), g.ropeBase(), g.padToken(), g.eosToken(), g.sequenceLen());
        Path dir = Path.of(args[0]);
        write(dir, c, Style.RELEASE, 1);
        if (args.length > 2 && args[2].equals("--dense")) fillDense(dir);
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }
}
