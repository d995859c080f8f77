package grokkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.checkpoint.ArrayDescriptor;
import grokkit.checkpoint.Checkpoint;
import grokkit.checkpoint.CheckpointTensor;
import grokkit.checkpoint.TensorKind;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code grok inspect CKPT_DIR}: reads every file of an xAI {@code ckpt-0} checkpoint with the
 * restricted pickle reader (no Python, nothing executed, no array bytes read), names and checks
 * each tensor, and prints a table or (with {@code --json}) the document described in
 * docs/INSPECT.md.
 */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Read and check an xAI ckpt-0 checkpoint without loading it.",
                "Prints one line per file (parameter name, kind, dtypes, shapes, scale layout, bytes), then totals;",
                "nothing in the checkpoint is executed and no array bytes are read (except with --touch).",
                "Exit 2, naming the file and the problem, for a missing, extra, mis-shaped, truncated or bad file."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok inspect ckpt-0",
                "  grok inspect ckpt-0 --json - > checkpoint.json      (schema: docs/SCHEMAS.md)",
                "  grok inspect ckpt-0 --touch                         (read every byte: disk rate, bad sectors)"})
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CKPT_DIR|FILE.gguf", description = "The ckpt-0 directory (or a directory containing ckpt-0), or a GGUF file (grok export).")
    Path ckptDir;

    @Mixin
    ModelConfigOption modelConfig;

    @Mixin
    JsonOutputOption json;

    @Option(names = "--touch", description = "After checking, map every array and read all its bytes; report the time and rate.")
    boolean touch;

    @Option(names = "--allow-scale-layout",
            description = "Accept int8 scales whose layout (per-column [1,N] or row-block [8,N]) differs from Grok-1's release for that parameter.")
    boolean allowScaleLayout;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (Files.isRegularFile(ckptDir)) {
            // A single file: a GGUF export (grok export), listed by the GGUF reader.
            GgufListing.print(ckptDir, out);
            out.flush();
            return 0;
        }
        ModelDirs.requireCheckpointDir(ckptDir, "CKPT_DIR");
        CheckpointConfig config = CheckpointConfig.resolve(ckptDir, modelConfig);
        PrintWriter err = spec.commandLine().getErr();
        try (Checkpoint ckpt = Checkpoint.open(ckptDir, config.given(), config.refuseGuesses(), allowScaleLayout)) {
            if (json.given()) {
                err.println("note: " + config.describe());
                for (String note : ckpt.configNotes()) err.println("note: " + note);
                err.flush();
                json.write(toJson(ckpt), out);
                if (!json.toStdout()) out.println("wrote " + json.file());
            } else {
                printTable(ckpt, out, config.describe());
            }
            if (touch) touchAll(ckpt, json.toStdout() ? err : out);
        }
        out.flush();
        err.flush();
        return 0;
    }

    /**
     * Reads every byte of every array through read-only mappings (one file at a time, so at
     * most one file is mapped), folding them into a checksum so the reads cannot be skipped.
     */
    static void touchAll(Checkpoint ckpt, PrintWriter report) throws IOException {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        long start = System.nanoTime(), cpuStart = cpu.getCurrentThreadCpuTime(), bytes = 0, sum = 0;
        for (CheckpointTensor t : ckpt.tensors()) {
            try (Arena arena = Arena.ofConfined()) {
                for (ArrayDescriptor a : t.arrays()) {
                    MemorySegment seg = ckpt.map(a, arena);
                    for (long off = 0; off < seg.byteSize(); off += TOUCH_CHUNK)
                        sum += sumChunk(seg.asSlice(off, Math.min(TOUCH_CHUNK, seg.byteSize() - off)));
                    bytes += seg.byteSize();
                }
            }
        }
        double s = (System.nanoTime() - start) / 1e9, cpuSeconds = (cpu.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        report.printf("touched %,d array bytes in %.2f s (%.2f GB/s; %.2f s CPU; checksum %016x)%n",
                bytes, s, bytes / s / 1e9, cpuSeconds, sum);
    }

    private static final long TOUCH_CHUNK = 1 << 20;

    /** Sum of a chunk's longs (and tail bytes): an int-indexed loop, which the JIT unrolls and vectorizes. */
    private static long sumChunk(MemorySegment chunk) {
        int n = (int) chunk.byteSize(), i = 0;
        long s = 0;
        for (; i + 8 <= n; i += 8) s += chunk.get(ValueLayout.JAVA_LONG_UNALIGNED, i);
        for (; i < n; i++) s += chunk.get(ValueLayout.JAVA_BYTE, i);
        return s;
    }

    // ---- JSON

    /** Created on first use: an ObjectMapper costs a tenth of a second, which --help should not pay. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    /** Version of the --json document (docs/INSPECT.md); bumped when a field changes meaning or goes away. */
    static final int SCHEMA_VERSION = 1;

    static String toJson(Checkpoint ckpt) throws IOException {
        ObjectNode doc = Json.MAPPER.createObjectNode();
        doc.put("schema_version", SCHEMA_VERSION);
        doc.set("config", ckpt.config().toJson());
        ArrayNode tensors = doc.putArray("tensors");
        long params = 0, bytes = 0;
        for (CheckpointTensor t : ckpt.tensors()) {
            ObjectNode o = tensors.addObject();
            o.put("index", t.index());
            o.put("file", t.fileName());
            o.put("name", t.name());
            o.put("kind", t.kind().jsonName());
            o.put("dtype", t.weight().dtype().displayName());
            shape(o.putArray("shape"), t.weight());
            if (t.scales() == null) {
                o.putNull("scales_dtype");
                o.putNull("scales_shape");
            } else {
                o.put("scales_dtype", t.scales().dtype().displayName());
                shape(o.putArray("scales_shape"), t.scales());
            }
            o.put("bytes", t.payloadBytes());
            params += t.parameterCount();
            bytes += t.payloadBytes();
        }
        doc.put("total_params", params);
        doc.put("total_bytes", bytes);
        return Json.MAPPER.writeValueAsString(doc);
    }

    private static void shape(ArrayNode a, ArrayDescriptor d) {
        for (long x : d.shape()) a.add(x);
    }

    // ---- table

    static void printTable(Checkpoint ckpt, PrintWriter out) {
        printTable(ckpt, out, null);
    }

    /** The table, with {@code configSource} (where the configuration came from) printed under the config line. */
    static void printTable(Checkpoint ckpt, PrintWriter out, String configSource) {
        ModelConfig c = ckpt.config();
        out.printf("checkpoint %s: %d files, %d layers%n", ckpt.directory(), ckpt.tensors().size(), c.numLayers());
        out.printf("config: vocab_size=%d emb_size=%d key_size=%d num_q_heads=%d num_kv_heads=%d num_layers=%d num_experts=%d ffn_size=%d%n",
                c.vocabSize(), c.embSize(), c.keySize(), c.numQHeads(), c.numKvHeads(), c.numLayers(), c.numExperts(), c.ffnSize());
        if (configSource != null) out.println(configSource);
        for (String note : ckpt.configNotes()) out.println("note: " + note);
        int nameWidth = 4;
        for (CheckpointTensor t : ckpt.tensors()) nameWidth = Math.max(nameWidth, t.name().length());
        String row = "%5s  %-15s  %-" + nameWidth + "s  %-16s  %-7s  %-18s  %-8s  %-15s  %-13s  %14s%n";
        out.println();
        out.printf(row, "index", "file", "name", "kind", "dtype", "shape", "scales", "scales shape", "scale layout", "bytes");
        Map<TensorKind, long[]> perKind = new EnumMap<>(TensorKind.class); // tensors, params, bytes
        for (CheckpointTensor t : ckpt.tensors()) {
            boolean q = t.scales() != null;
            out.printf(row, t.index(), t.fileName(), t.name(), q ? "int8+bf16 scales" : "f32 array",
                    t.weight().dtype().displayName(), t.weight().shapeString(),
                    q ? t.scales().dtype().displayName() : "-", q ? t.scales().shapeString() : "-",
                    q ? t.scaleLayout() : "-", String.format("%,d", t.payloadBytes()));
            long[] k = perKind.computeIfAbsent(t.kind(), x -> new long[3]);
            k[0]++;
            k[1] += t.parameterCount();
            k[2] += t.payloadBytes();
        }
        long params = 0, bytes = 0;
        out.println();
        for (Map.Entry<TensorKind, long[]> e : perKind.entrySet()) {
            long[] k = e.getValue();
            out.printf("%-26s %4d tensors  %,22d parameters  %,22d bytes%n", e.getKey().description() + ":", k[0], k[1], k[2]);
            params += k[1];
            bytes += k[2];
        }
        out.printf("%-26s %4d tensors  %,22d parameters  %,22d bytes (%s)%n", "total:", ckpt.tensors().size(), params, bytes, human(bytes));
    }

    private static String human(long bytes) {
        if (bytes >= 1L << 30) return String.format("%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format("%.2f MiB", bytes / (double) (1L << 20));
        return String.format("%.2f KiB", bytes / 1024.0);
    }

}
