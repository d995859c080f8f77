package grokkit.export;

import grokkit.errors.BadInputException;
import grokkit.gguf.GgmlType;
import grokkit.gguf.GgufValue;
import grokkit.gguf.GgufWriter;
import grokkit.gguf.blocks.BlockCodec;
import grokkit.quant.Imatrix;
import grokkit.shard.AtomicFiles;
import grokkit.shard.ShardWriter;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Writes a Grok model as llama.cpp GGUF: plans every tensor ({@link GrokTensorMap}, types from
 * {@link TypeMix}), the metadata ({@link GrokMetadata}) and the split into files, then streams.
 *
 * <p>How it stays within a small heap and uses all cores: each tensor is cut into tiles of
 * rows; worker threads read a tile's float rows from the source (transposing xAI's
 * {@code [in, out]}) and quantize them row by row; the calling thread takes the tiles back in
 * file order and appends them. At most {@code threads + 2} tiles are in flight. Layout and
 * bytes are fixed before anything is written, so they never depend on timing or threads.
 *
 * <p>How it stays safe: a file is written as {@code NAME.partial} and renamed when complete;
 * with {@code --split-max-size} every split is first completed under {@code NAME.incomplete}
 * and only when all are done renamed to its final name, so a failed export leaves no file
 * under a final name.
 */
public final class Exporter {
    public static final int ALIGNMENT = 64;
    /** Floats per tile (8 MiB): large enough to stream, small enough for -Xmx1g with many threads. */
    static final int TILE_ELEMENTS = 1 << 21;
    static final String INCOMPLETE = ".incomplete";

    private final ExportOptions opts;
    private final PrintWriter log;
    private final PrintWriter progressOut;
    private final boolean terminal;

    public Exporter(ExportOptions opts, PrintWriter log, PrintWriter progressOut, boolean terminal) {
        this.opts = opts;
        this.log = log;
        this.progressOut = progressOut;
        this.terminal = terminal;
    }

    /** What an export wrote. */
    public record Result(List<Path> files, long bytes, long parameters, double bitsPerWeight, long sourceBytes, long nanos,
                         List<PlannedTensor> tensors) {}

    public Result export(ExportSource src, GgufVocabulary vocab, Path out) throws IOException {
        long start = System.nanoTime();
        var c = src.config();
        if (vocab.size() != c.vocabSize())
            throw new BadInputException("tokenizer: " + vocab.description() + " has " + vocab.size() + " pieces, the model's vocab_size is " + c.vocabSize());
        Imatrix imatrix = null;
        if (opts.imatrix() != null) {
            imatrix = Imatrix.read(opts.imatrix());
            imatrix.checkModel(opts.imatrix(), c.numLayers(), c.numExperts(), c.embSize(), c.ffnSize());
        }
        List<PlannedTensor> tensors;
        try {
            tensors = GrokTensorMap.plan(src, opts.mix(), imatrix, opts.folds());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        reportPlan(tensors, vocab);
        Map<String, GgufValue> kv = GrokMetadata.of(c, opts.mix(), vocab, c.equals(grokkit.model.ModelConfig.grok1()) ? "Grok-1" : "Grok (grok-kit export)");
        // Only when something was folded: an export without folds has exactly llama.cpp's keys.
        if (opts.folds().any()) kv.put(ChannelFolds.METADATA_KEY, GgufValue.string(opts.folds().describe()));
        List<List<Integer>> splits = split(tensors);
        List<Path> finals = fileNames(out, splits.size());
        for (Path f : finals) {
            if (Files.exists(f)) throw new BadInputException(f + ": already exists; remove it or choose another output name");
            if (Files.exists(Path.of(f + INCOMPLETE))) Files.delete(Path.of(f + INCOMPLETE)); // left by a failed run, never a final file
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) throw new BadInputException(out + ": the output directory does not exist");
        if (!Files.isWritable(parent)) throw new BadInputException(out + ": the output directory is not writable");

        long totalOut = 0, params = 0, source = 0;
        for (PlannedTensor t : tensors) {
            totalOut += t.bytes();
            params += t.elements();
            source += t.rows().sourceBytes();
        }
        ExportProgress progress = new ExportProgress(progressOut, terminal, totalOut);
        ExecutorService pool = Executors.newFixedThreadPool(opts.threads(), r -> {
            Thread t = new Thread(r, "export-worker");
            t.setDaemon(true);
            return t;
        });
        List<Path> staged = new ArrayList<>();
        long fileBytes = 0;
        boolean ok = false;
        try {
            for (int k = 0; k < splits.size(); k++) {
                Path target = splits.size() == 1 && opts.splitMaxSize() == 0 ? finals.get(k) : Path.of(finals.get(k) + INCOMPLETE);
                fileBytes += writeFile(target, splitMetadata(kv, k, splits.size(), tensors.size()), tensors, splits.get(k), pool, progress);
                staged.add(target);
            }
            if (!staged.equals(finals))
                for (int k = 0; k < staged.size(); k++) AtomicFiles.moveIntoPlace(staged.get(k), finals.get(k));
            ok = true;
        } finally {
            pool.shutdownNow();
            progress.finish();
            if (!ok) for (Path p : staged) Files.deleteIfExists(p);
        }
        long nanos = System.nanoTime() - start;
        double bpw = 8.0 * tensors.stream().mapToLong(PlannedTensor::bytes).sum() / params;
        log.printf(Locale.ROOT, "wrote %s (%d file%s, %s, %.3f bits per weight) from %s of source in %.1f s (%s/s written), peak heap %s%n",
                finals.size() == 1 ? finals.getFirst() : finals.getFirst() + " ...", finals.size(), finals.size() == 1 ? "" : "s",
                ExportProgress.bytes(fileBytes), bpw, ExportProgress.bytes(source), nanos / 1e9,
                ExportProgress.bytes((long) (fileBytes / Math.max(1e-9, nanos / 1e9))), ExportProgress.bytes(peakHeap()));
        log.flush();
        return new Result(finals, fileBytes, params, bpw, source, nanos, tensors);
    }

    /** Prints the type plan by class and every fallback (grouped by tensor kind). */
    private void reportPlan(List<PlannedTensor> tensors, GgufVocabulary vocab) {
        TypeMix m = opts.mix();
        log.printf("types: experts %s, attention %s, embedding/output %s, router and norms f32%n",
                m.experts().cliName(), m.attention().cliName(), m.embedding().cliName());
        log.printf("channel folds: %s%n", opts.folds().describe());
        Map<String, List<String>> fallbacks = new TreeMap<>();
        for (PlannedTensor t : tensors) {
            if (t.fallbackNote() == null) continue;
            String kind = t.name().replaceFirst("^blk\\.\\d+\\.", "blk.*.");
            fallbacks.computeIfAbsent(kind + ": " + t.fallbackNote(), x -> new ArrayList<>()).add(t.name());
        }
        for (Map.Entry<String, List<String>> e : fallbacks.entrySet())
            log.printf("fallback: %s (%d tensor%s)%n", e.getKey(), e.getValue().size(), e.getValue().size() == 1 ? "" : "s");
        if (vocab.placeholder()) log.println("note: " + vocab.description());
        else log.println("tokenizer: " + vocab.description());
        log.flush();
    }

    /** Tensor indexes per file: llama-gguf-split's rule (a file's padded tensor bytes stay within the limit; at least one tensor each). */
    List<List<Integer>> split(List<PlannedTensor> tensors) {
        List<List<Integer>> files = new ArrayList<>();
        List<Integer> cur = new ArrayList<>();
        long size = 0;
        for (int i = 0; i < tensors.size(); i++) {
            long n = GgufWriter.pad(tensors.get(i).bytes(), ALIGNMENT);
            if (opts.splitMaxSize() > 0 && !cur.isEmpty() && size + n > opts.splitMaxSize()) {
                files.add(cur);
                cur = new ArrayList<>();
                size = 0;
            }
            cur.add(i);
            size += n;
        }
        files.add(cur);
        return files;
    }

    /** {@code OUT.gguf}, or with splits {@code OUT-00001-of-0000N.gguf} (llama.cpp's {@code llama_split_path}). */
    List<Path> fileNames(Path out, int n) {
        if (opts.splitMaxSize() == 0) return List.of(out);
        String name = out.getFileName().toString();
        String prefix = name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
        List<Path> files = new ArrayList<>();
        for (int k = 0; k < n; k++) files.add(out.resolveSibling(String.format(Locale.ROOT, "%s-%05d-of-%05d.gguf", prefix, k + 1, n)));
        return files;
    }

    /** The first file holds every key; each file has llama.cpp's split keys (and the alignment). */
    private Map<String, GgufValue> splitMetadata(Map<String, GgufValue> kv, int k, int count, int totalTensors) {
        if (opts.splitMaxSize() == 0) return kv;
        Map<String, GgufValue> m = new LinkedHashMap<>();
        if (k == 0) m.putAll(kv);
        m.put("split.no", GgufValue.u16(k));
        m.put("split.count", GgufValue.u16(count));
        m.put("split.tensors.count", GgufValue.i32(totalTensors));
        return m;
    }

    private record Tile(int tensor, int unit, int o0, int rows, boolean first) {}

    private long writeFile(Path target, Map<String, GgufValue> kv, List<PlannedTensor> all, List<Integer> indexes,
                           ExecutorService pool, ExportProgress progress) throws IOException {
        List<GgufWriter.Tensor> specs = new ArrayList<>();
        for (int i : indexes) specs.add(new GgufWriter.Tensor(all.get(i).name(), all.get(i).ne(), all.get(i).type()));
        ArrayDeque<Tile> tiles = new ArrayDeque<>();
        for (int k = 0; k < indexes.size(); k++) {
            TensorRows r = all.get(indexes.get(k)).rows();
            int step = Math.max(1, Math.min(r.rowsPerUnit(), TILE_ELEMENTS / r.rowLength()));
            boolean first = true;
            for (int u = 0; u < r.units(); u++)
                for (int o = 0; o < r.rowsPerUnit(); o += step) {
                    tiles.add(new Tile(k, u, o, Math.min(step, r.rowsPerUnit() - o), first));
                    first = false;
                }
        }
        int window = opts.threads() + 2;
        ArrayDeque<Future<byte[]>> inflight = new ArrayDeque<>();
        GgufWriter w;
        try {
            w = new GgufWriter(target, kv, specs, ALIGNMENT, ShardWriter.DIRECT);
        } catch (IOException e) {
            throw writeFailure(target, e);
        }
        try (w) {
            ArrayDeque<Tile> order = new ArrayDeque<>(tiles);
            while (!tiles.isEmpty() && inflight.size() < window) inflight.add(pool.submit(encode(all.get(indexes.get(tiles.peek().tensor())), tiles.poll())));
            while (!inflight.isEmpty()) {
                byte[] bytes = await(inflight.poll());
                Tile t = order.poll();
                if (!tiles.isEmpty()) inflight.add(pool.submit(encode(all.get(indexes.get(tiles.peek().tensor())), tiles.poll())));
                try {
                    if (t.first()) w.beginTensor(t.tensor());
                    w.write(bytes, 0, bytes.length);
                } catch (IOException e) {
                    throw writeFailure(target, e);
                }
                progress.add(bytes.length);
            }
            try {
                w.commit();
            } catch (IOException e) {
                throw writeFailure(target, e);
            }
            return w.fileBytes();
        } finally {
            for (Future<?> f : inflight) f.cancel(true);
        }
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    /** Reads a tile's rows and quantizes them one by one (on a worker thread). */
    private static java.util.concurrent.Callable<byte[]> encode(PlannedTensor t, Tile tile) {
        return () -> {
            TensorRows r = t.rows();
            int in = r.rowLength();
            float[][] s = SCRATCH.get();
            if (s[0].length < tile.rows() * in) s[0] = new float[tile.rows() * in];
            float[] x = s[0];
            r.read(tile.unit(), tile.o0(), tile.rows(), x);
            GgmlType type = t.type();
            BlockCodec codec = type.codec();
            int rowBytes = Math.toIntExact(type.rowBytes(in));
            byte[] out = new byte[rowBytes * tile.rows()];
            float[] imp = r.importance(tile.unit());
            for (int k = 0; k < tile.rows(); k++) codec.quantizeRow(x, k * in, in, imp, out, k * rowBytes);
            return out;
        };
    }

    private static byte[] await(Future<byte[]> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("export interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error r) throw r;
            throw new IOException(c);
        }
    }

    private static BadInputException writeFailure(Path file, IOException e) {
        if (e instanceof BadInputException b) return b;
        String m = e.getMessage();
        return new BadInputException(file + ": cannot write (" + e.getClass().getSimpleName() + (m == null ? "" : ": " + m)
                + "); nothing was written under the final name", e);
    }

    /** The largest heap occupancy so far (sum of the heap pools' peaks). */
    static long peakHeap() {
        long sum = 0;
        for (var pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans())
            if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) sum += pool.getPeakUsage().getUsed();
        return sum;
    }
}
