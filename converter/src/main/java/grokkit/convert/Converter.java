package grokkit.convert;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.shard.AtomicFiles;
import grokkit.model.ModelConfig;
import grokkit.shard.Manifest;
import grokkit.shard.Region;
import grokkit.shard.ShardInfo;
import grokkit.shard.ShardPlanner;
import grokkit.shard.ShardVerifier;
import grokkit.shard.ShardWriter;
import grokkit.shard.TensorRecord;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Converts a checkpoint into a sharded model directory.
 *
 * <p>How it stays within a small heap and uses all cores: every output record is cut into
 * tiles of output rows; worker threads read a tile from the mapped source (transposing xAI's
 * {@code [in, out]} to out-major), encode it and measure its error; the calling thread takes
 * the tiles back in file order and appends them to the shard, checksumming as it goes. At most
 * a few tiles per thread are in flight. The layout is planned before any byte is written
 * ({@link ShardPlanner}) and every step is deterministic, so output bytes never depend on
 * timing or thread count.
 *
 * <p>How it stays safe to interrupt: each shard is written as {@code NAME.partial} and renamed
 * when complete; its records (offsets, CRC32C, error figures) then go to
 * {@code .convert-state/NAME.json} together with a fingerprint of the whole plan.
 * {@code --resume} keeps a shard only if its state matches the fingerprint and its bytes verify.
 * The report and then the manifest are written last; the state directory is removed after.
 */
public final class Converter {
    static final String STATE_DIR = ".convert-state";
    /** Elements per tile (8 MiB of floats): big enough to stream, small enough for -Xmx1g. */
    static final int TILE_ELEMENTS = 1 << 21;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ConvertOptions opts;
    private final PrintWriter out;
    private final boolean terminal;
    private final ConvertHooks hooks;

    /** Progress, notes and resume decisions (stderr in the CLI, so stdout carries only results). */
    private final PrintWriter log;

    public Converter(ConvertOptions opts, PrintWriter out, boolean terminal, ConvertHooks hooks) {
        this(opts, out, out, terminal, hooks);
    }

    /**
     * @param out      the conversion's results (the error table and the summary line)
     * @param log      progress, notes and resume decisions
     * @param terminal whether {@code log} is a terminal (progress redrawn in place)
     */
    public Converter(ConvertOptions opts, PrintWriter out, PrintWriter log, boolean terminal, ConvertHooks hooks) {
        this.opts = opts;
        this.out = out;
        this.log = log;
        this.terminal = terminal;
        this.hooks = hooks;
    }

    /** What a conversion produced. */
    public record Result(Manifest manifest, ConversionReport report, long sourceBytes, long writtenBytes, int shardsReused, long nanos) {}

    /** What {@code .convert-state/SHARD.json} holds for a completed shard. */
    record ShardState(@JsonProperty("fingerprint") String fingerprint,
                      @JsonProperty("shard") ShardInfo shard,
                      @JsonProperty("tensors") List<TensorRecord> tensors,
                      @JsonProperty("report") List<ConversionReport.Entry> report,
                      @JsonProperty("conversion") ObjectNode conversion) {}

    public Result convert(ConversionSource src, Path outDir) throws IOException {
        long start = System.nanoTime();
        opts.validate();
        if (opts.tokenizer() != null) grokkit.io.InputFiles.requireRegularFile(opts.tokenizer(), "--tokenizer");
        grokkit.quant.Imatrix imatrix = null;
        if (opts.imatrix() != null) {
            imatrix = grokkit.quant.Imatrix.read(opts.imatrix());
            grokkit.model.ModelConfig mc = src.config();
            imatrix.checkModel(opts.imatrix(), mc.numLayers(), mc.numExperts(), mc.embSize(), mc.ffnSize());
        }
        List<String> notes = new ArrayList<>();
        List<OutputTensor> outputs = OutputPlanner.plan(src, opts, notes);
        for (String n : notes) log.println("note: " + n);
        ShardPlanner.Plan plan = ShardPlanner.plan(outputs.stream().map(OutputTensor::planned).toList(), opts.shardSize());
        String tokenizerName = opts.tokenizer() == null ? null : opts.tokenizer().getFileName().toString();
        ObjectNode conversion = opts.toManifestJson();
        // Only with --allow-scale-layout: a deliberate conversion of non-release scale layouts.
        if (src.allowsScaleLayout()) conversion.put("allow_scale_layout", true);
        if (imatrix != null) {
            // Only with --imatrix: manifests of unweighted conversions stay as they were.
            ObjectNode im = conversion.putObject("imatrix");
            im.put("file", opts.imatrix().getFileName().toString());
            im.put("sha256", imatrix.sha256());
            im.put("calibration", imatrix.calibration());
        }
        String fingerprint = fingerprint(src, outputs, plan, conversion);

        Result done = prepareOutputDir(outDir, conversion, src.config(), start);
        if (done != null) return done;
        Path stateDir = outDir.resolve(STATE_DIR);
        if (opts.resume()) refuseOtherInputs(outDir, stateDir, fingerprint, conversion);
        TileTask.Buffers buffers = new TileTask.Buffers();

        long totalSource = outputs.stream().mapToLong(o -> o.view().sourceBytes()).sum();
        Progress progress = new Progress(log, terminal, totalSource);
        List<TensorRecord> records = new ArrayList<>();
        List<ConversionReport.Entry> entries = new ArrayList<>();
        int reused = 0;
        long written = 0;
        ExecutorService pool = Executors.newFixedThreadPool(opts.threads(), r -> {
            Thread t = new Thread(r, "convert-worker");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int k = 0; k < plan.shards().size(); k++) {
                ShardInfo shard = plan.shards().get(k);
                List<ShardPlanner.Placement> placements = plan.inShard(k);
                List<OutputTensor> shardOutputs = new ArrayList<>();
                int first = plan.placements().indexOf(placements.getFirst());
                for (int i = 0; i < placements.size(); i++) shardOutputs.add(outputs.get(first + i));
                ShardState state = opts.resume() ? reusable(outDir, stateDir, shard, fingerprint) : null;
                if (state == null) {
                    state = writeShard(outDir, shard, placements, shardOutputs, pool, progress, fingerprint, conversion, imatrix, buffers);
                    writeState(stateDir, state);
                    written += shard.bytes();
                } else {
                    reused++;
                    progress.add(shardOutputs.stream().mapToLong(o -> o.view().sourceBytes()).sum());
                }
                records.addAll(state.tensors());
                entries.addAll(state.report());
            }
        } finally {
            pool.shutdownNow();
            progress.finish();
        }
        if (tokenizerName != null) copyTokenizer(opts.tokenizer(), outDir.resolve(tokenizerName));
        ConversionReport report = ConversionReport.of(entries);
        if (imatrix != null)
            report = report.withImatrix(new ConversionReport.ImatrixUse(opts.imatrix().getFileName().toString(), imatrix.sha256(), imatrix.calibration()));
        writeFile(outDir.resolve(ConversionReport.FILE_NAME), report.toBytes());
        Manifest manifest = new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, src.config().toJson(), tokenizerName,
                conversion, Manifest.ALIGNMENT, plan.shards(), records);
        try {
            manifest.write(outDir);
        } catch (IOException e) {
            throw writeFailure(outDir.resolve(Manifest.FILE_NAME), e);
        }
        deleteTree(stateDir);
        long nanos = System.nanoTime() - start;
        out.print(report.table());
        out.printf(Locale.ROOT, "%d shards (%d reused), %s written from %s of source in %.1f s (%s/s), peak heap %s%n",
                plan.shards().size(), reused, Progress.bytes(written), Progress.bytes(totalSource), nanos / 1e9,
                Progress.bytes((long) (totalSource / Math.max(1e-9, nanos / 1e9))), Progress.bytes(peakHeap()));
        return new Result(manifest, report, totalSource, written, reused, nanos);
    }

    /**
     * Checks and creates the output directory. Returns a result when {@code --resume} finds the
     * conversion already complete and intact; null to go on converting.
     */
    private Result prepareOutputDir(Path outDir, ObjectNode conversion, ModelConfig config, long start) throws IOException {
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) throw new BadInputException(outDir + ": output exists and is not a directory");
        if (Files.isRegularFile(outDir.resolve(Manifest.FILE_NAME))) {
            if (!opts.resume())
                throw new BadInputException(outDir + ": already holds a converted model (manifest.json); choose another output directory");
            Manifest m = Manifest.read(outDir);
            List<String> problems = new ArrayList<>();
            if (!m.conversion().toString().equals(conversion.toString())) problems.add("it was converted with other options " + m.conversion());
            String otherConfig = configDifference(m.modelConfig(), config);
            if (otherConfig != null) problems.add("it was converted with another model configuration (" + otherConfig + ")");
            for (ShardInfo s : m.shards())
                problems.addAll(ShardVerifier.verify(outDir.resolve(s.file()), s.bytes(), m.tensors().stream().filter(t -> t.shard().equals(s.file())).toList()));
            if (!problems.isEmpty())
                throw new BadInputException(outDir + ": holds a complete conversion that cannot be resumed: " + String.join("; ", problems)
                        + " (remove the directory, or convert into another one)");
            out.println(outDir + ": conversion already complete; every shard verifies");
            ConversionReport report = ConversionReport.read(Files.readAllBytes(outDir.resolve(ConversionReport.FILE_NAME)));
            return new Result(m, report, 0, 0, m.shards().size(), System.nanoTime() - start);
        }
        if (Files.isDirectory(outDir) && !opts.resume()) {
            try (Stream<Path> s = Files.list(outDir)) {
                if (s.findAny().isPresent())
                    throw new BadInputException(outDir + ": output directory is not empty (to continue an interrupted conversion, add --resume)");
            }
        }
        try {
            Files.createDirectories(outDir);
            Files.createDirectories(outDir.resolve(STATE_DIR));
        } catch (IOException e) {
            throw new BadInputException(outDir + ": cannot create the output directory (" + describe(e) + ")", e);
        }
        if (!Files.isWritable(outDir)) throw new BadInputException(outDir + ": output directory is not writable");
        try (DirectoryStream<Path> partial = Files.newDirectoryStream(outDir, "*" + ShardWriter.PARTIAL_SUFFIX)) {
            for (Path p : partial) Files.deleteIfExists(p); // left by an interrupted run; never a complete shard
        }
        return null;
    }

    /** The state of a completed shard if it may be kept: same plan fingerprint and its bytes verify. */
    private ShardState reusable(Path outDir, Path stateDir, ShardInfo shard, String fingerprint) {
        Path stateFile = stateDir.resolve(shard.file() + ".json");
        Path file = outDir.resolve(shard.file());
        if (!Files.isRegularFile(stateFile) || !Files.isRegularFile(file)) return null;
        try {
            ShardState s = JSON.readValue(Files.readAllBytes(stateFile), ShardState.class);
            if (!fingerprint.equals(s.fingerprint()) || !shard.equals(s.shard())) return null;
            List<String> problems = ShardVerifier.verify(file, shard.bytes(), s.tensors());
            if (!problems.isEmpty()) {
                log.println("resume: rewriting " + shard.file() + ": " + problems.getFirst());
                return null;
            }
            log.println("resume: " + shard.file() + " verifies; kept");
            return s;
        } catch (IOException | RuntimeException e) {
            return null; // unreadable state: the shard is simply written again
        }
    }

    private ShardState writeShard(Path outDir, ShardInfo shard, List<ShardPlanner.Placement> placements, List<OutputTensor> outputs,
                                  ExecutorService pool, Progress progress, String fingerprint, ObjectNode conversion,
                                  grokkit.quant.Imatrix imatrix, TileTask.Buffers buffers) throws IOException {
        Path target = outDir.resolve(shard.file());
        List<TensorRecord> records = new ArrayList<>();
        List<ConversionReport.Entry> entries = new ArrayList<>();
        ArrayDeque<TileTask> tasks = new ArrayDeque<>();
        for (int i = 0; i < outputs.size(); i++) tasks.addAll(TileTask.split(i, outputs.get(i), importanceOf(outputs.get(i), imatrix), buffers));
        // The next record's preparation (q4nl statistics) starts when this record's first tile is
        // submitted, and runs on a free worker while this record's tiles are encoded.
        java.util.Map<TileTask, Runnable> ahead = new java.util.IdentityHashMap<>();
        Runnable nextWarmUp = null;
        for (java.util.Iterator<TileTask> it = tasks.descendingIterator(); it.hasNext(); ) {
            TileTask t = it.next();
            if (!t.first()) continue;
            if (nextWarmUp != null) ahead.put(t, nextWarmUp);
            nextWarmUp = t.warmUp();
        }
        java.util.function.Function<TileTask, Future<TileTask.Tile>> submit = t -> {
            Future<TileTask.Tile> f = pool.submit(t);
            Runnable w = ahead.get(t);
            if (w != null) pool.submit(w);
            return f;
        };
        int window = 2 * opts.threads() + 2;
        ArrayDeque<Future<TileTask.Tile>> inflight = new ArrayDeque<>();
        ShardWriter writer;
        try {
            writer = new ShardWriter(target, hooks.channels());
        } catch (IOException e) {
            throw writeFailure(target, e);
        }
        try (writer) {
            byte[] scaleBuf = null;
            double sum = 0, err = 0;
            while (!tasks.isEmpty() && inflight.size() < window) inflight.add(submit.apply(tasks.poll()));
            while (!inflight.isEmpty()) {
                TileTask.Tile tile = await(inflight.poll());
                if (!tasks.isEmpty()) inflight.add(submit.apply(tasks.poll()));
                ShardPlanner.Placement p = placements.get(tile.tensor());
                OutputTensor ot = outputs.get(tile.tensor());
                try {
                    if (tile.first()) {
                        writer.padTo(p.weightsOffset());
                        writer.beginRegion();
                        scaleBuf = new byte[(int) ot.spec().scaleBytes(ot.view().in, ot.view().out)];
                        sum = 0;
                        err = 0;
                    }
                    if (tile.copy() != null) writer.copyFrom(tile.copy().file(), tile.copy().offset(), tile.copy().bytes());
                    else writer.write(tile.weights(), 0, tile.weights().length);
                    buffers.recycle(tile);
                    System.arraycopy(tile.scales(), 0, scaleBuf, tile.scaleOffset(), tile.scales().length);
                    sum += tile.sumSq();
                    err += tile.errSq();
                    if (tile.last()) {
                        long wcrc = writer.endRegion();
                        Region w = new Region(p.weightsOffset(), p.tensor().weightBytes(), Region.hex(wcrc));
                        Region s = null;
                        if (scaleBuf.length > 0) {
                            writer.padTo(p.scalesOffset());
                            writer.beginRegion();
                            writer.write(scaleBuf, 0, scaleBuf.length);
                            s = new Region(p.scalesOffset(), scaleBuf.length, Region.hex(writer.endRegion()));
                        }
                        TensorRecord r = new TensorRecord(ot.name(), ot.expert(), ot.shape(), ot.view().in, ot.view().out,
                                TensorRecord.Encoding.of(ot.spec()), shard.file(), w, s);
                        records.add(r);
                        entries.add(ConversionReport.Entry.of(r, ot.lossless(), sum, err));
                    }
                    hooks.afterWrite(shard.file(), writer.position());
                } catch (IOException e) {
                    throw writeFailure(target, e);
                }
                progress.add(tile.sourceBytes());
            }
            if (writer.position() != shard.bytes())
                throw new IllegalStateException(shard.file() + ": wrote " + writer.position() + " bytes, planned " + shard.bytes());
            try {
                writer.commit();
            } catch (IOException e) {
                throw writeFailure(target, e);
            }
        } finally {
            for (Future<?> f : inflight) f.cancel(true);
        }
        return new ShardState(fingerprint, shard, records, entries, conversion);
    }

    private static TileTask.Tile await(Future<TileTask.Tile> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("conversion interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error r) throw r;
            throw new IOException(c);
        }
    }

    private void writeState(Path stateDir, ShardState s) throws IOException {
        writeFile(stateDir.resolve(s.shard().file() + ".json"), JSON.writeValueAsBytes(s));
    }

    private static void writeFile(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ShardWriter.PARTIAL_SUFFIX);
        try {
            Files.write(tmp, bytes);
            AtomicFiles.moveIntoPlace(tmp, target);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw writeFailure(target, e);
        }
    }

    private static void copyTokenizer(Path from, Path to) throws IOException {
        try {
            writeFile(to, grokkit.io.InputFiles.readAll(from, "--tokenizer", 1L << 30));
        } catch (BadInputException e) {
            throw e;
        } catch (IOException e) {
            throw new BadInputException("--tokenizer " + from + ": cannot be read (" + describe(e) + ")", e);
        }
    }

    private static BadInputException writeFailure(Path file, IOException e) {
        if (e instanceof BadInputException b) return b;
        return new BadInputException(file + ": cannot write (" + describe(e) + "); no manifest was written. "
                + "Free space or fix permissions, then re-run with --resume to keep the completed shards", e);
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** The largest heap occupancy so far (sum of the heap pools' peaks): what -Xmx must allow. */
    static long peakHeap() {
        long sum = 0;
        for (var pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans())
            if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) sum += pool.getPeakUsage().getUsed();
        return sum;
    }

    /**
     * The error weights of an expert matrix from the importance matrix (per input: the gate/up
     * input for moe/linear and moe/linear_v, the down input for moe/linear_1), for an encoding
     * that uses them; null for every other record or without {@code --imatrix}.
     */
    private static float[] importanceOf(OutputTensor o, grokkit.quant.Imatrix imatrix) {
        if (imatrix == null || o.expert() == null || !o.spec().encoding().weighsImportance()) return null;
        return switch (o.param()) {
            case grokkit.model.ParamNames.MOE_LINEAR, grokkit.model.ParamNames.MOE_LINEAR_V -> imatrix.importance(o.layer(), o.expert(), false);
            case grokkit.model.ParamNames.MOE_LINEAR_1 -> imatrix.importance(o.layer(), o.expert(), true);
            default -> null;
        };
    }

    /**
     * With {@code --resume}: refuses (bad input) to continue a conversion whose completed shards
     * were written from other byte-determining inputs (options, importance matrix, checkpoint
     * shapes): keeping them would mix two conversions under one manifest. A state file that
     * cannot be read is not evidence of anything; its shard is simply written again.
     */
    private static void refuseOtherInputs(Path outDir, Path stateDir, String fingerprint, ObjectNode conversion) throws IOException {
        try (DirectoryStream<Path> states = Files.newDirectoryStream(stateDir, "*.json")) {
            for (Path p : states) {
                ShardState s;
                try {
                    s = JSON.readValue(Files.readAllBytes(p), ShardState.class);
                } catch (IOException | RuntimeException e) {
                    continue;
                }
                if (s == null || s.fingerprint() == null || fingerprint.equals(s.fingerprint())) continue;
                String was = s.conversion() == null ? "" : ": it was begun with " + s.conversion() + ", this run has " + conversion;
                throw new BadInputException(outDir + ": --resume: the completed shard " + s.shard().file()
                        + " was written from other inputs (options, --imatrix, model configuration or checkpoint shapes)" + was
                        + ". Resume with the same inputs, or convert into an empty directory");
            }
        }
    }

    /** The fields in which two configurations differ, as "name: was → now; ...", or null when equal. */
    static String configDifference(ModelConfig was, ModelConfig now) {
        ObjectNode a = was.toJson(), b = now.toJson();
        List<String> diff = new ArrayList<>();
        for (String f : ModelConfig.FIELDS)
            if (!a.get(f).equals(b.get(f))) diff.add(f + " " + a.get(f) + " in the model, " + b.get(f) + " now");
        return diff.isEmpty() ? null : String.join("; ", diff);
    }

    /**
     * A digest of everything that determines the output bytes: the manifest's {@code conversion}
     * object (every byte-determining option, the importance matrix's SHA-256), the configuration,
     * the source shapes and the plan.
     */
    private static String fingerprint(ConversionSource src, List<OutputTensor> outputs, ShardPlanner.Plan plan, ObjectNode conversion) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format_version", Manifest.FORMAT_VERSION);
        root.set("conversion", conversion);
        root.set("config", src.config().toJson());
        ArrayNode srcs = root.putArray("source");
        for (SourceTensor t : src.tensors()) srcs.add(t.name() + " " + t.weight() + (t.scales() == null ? "" : " " + t.scales()));
        ArrayNode pl = root.putArray("plan");
        for (int i = 0; i < outputs.size(); i++) {
            OutputTensor o = outputs.get(i);
            ShardPlanner.Placement p = plan.placements().get(i);
            pl.add(o.label() + " " + o.spec() + " " + p.shard() + " " + p.weightsOffset() + " " + p.scalesOffset() + " " + o.lossless());
        }
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(d.digest(JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException | IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
