package grokkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.io.Npy;
import grokkit.model.ModelWeights;
import grokkit.runtime.GrokModel;
import grokkit.runtime.RuntimeOptions;
import grokkit.shard.Manifest;
import grokkit.tokenizer.SentencePieceTokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code grok golden create MODEL_DIR (--tokens FILE | --text FILE --tokenizer FILE [--chunk N])
 * --out DIR}: a golden set (docs/GOLDEN.md) of the model's own logits, mode {@code f32}, with the
 * model's manifest hash and the grok-kit version. The runtime's logits are bit-reproducible
 * (docs/RUNTIME.md), so {@code grok verify MODEL_DIR --golden DIR --max-abs-diff 0} passes on any
 * thread count and batch size, and a later release can be held to these bits.
 */
@Command(name = "create", mixinStandardHelpOptions = true,
        description = {"Write a golden set from a converted model's own logits.",
                "Writes golden.json and one p0.f32.npy, p1.f32.npy, ... per prompt (docs/GOLDEN.md), with the model's",
                "manifest hash and the grok-kit version. The runtime's logits do not depend on the thread count or batch",
                "size, so grok verify --max-abs-diff 0 holds a later build or conversion to these bits."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok golden create grok-1-int8 --tokens prompts.txt --out golden-int8",
                "  grok golden create grok-1-int8 --text prompts.txt --tokenizer tokenizer.model --out golden-text",
                "  grok verify grok-1-int8 --golden golden-int8 --max-abs-diff 0"})
public final class GoldenCreateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "A converted model directory (grok convert).")
    Path modelDir;

    static final class Input {
        @Option(names = "--tokens", paramLabel = "FILE", description = "Prompts, one per line: token ids separated by commas or spaces (blank lines are skipped).")
        Path tokens;

        @Option(names = "--text", paramLabel = "FILE", description = "UTF-8 text, tokenized with --tokenizer (no BOS added) and cut into prompts of --chunk tokens.")
        Path text;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    /** For --text: the SentencePiece model (its vocabulary must be the model's). */
    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--chunk", defaultValue = "64", paramLabel = "N", description = "Tokens per prompt cut from --text (default ${DEFAULT-VALUE}; the last may be shorter).")
    int chunk;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The golden directory to create (must not exist; written under a temporary name, then renamed).")
    Path out;

    /** The logits do not depend on the thread count (docs/RUNTIME.md). */
    @Mixin
    ThreadsOption threads;

    @Mixin
    QuietOption quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = quiet.progress(spec.commandLine().getErr());
        if (input.text == null && (tokenizer.file() != null || spec.commandLine().getParseResult().hasMatchedOption("--chunk")))
            throw new BadInputException("--tokenizer and --chunk go with --text");
        if (chunk < 1) throw new BadInputException("--chunk: must be >= 1, got " + chunk);
        if (Files.exists(out)) throw new BadInputException("--out " + out + ": already exists (a golden set is never overwritten)");
        long t0 = System.nanoTime();
        try (ModelWeights weights = ModelDirs.open(modelDir, "MODEL_DIR")) {
            int vocab = weights.config().vocabSize();
            List<int[]> prompts = input.tokens != null ? readTokenFile(input.tokens) : readText(input.text, tokenizer.file(), chunk, vocab);
            for (int k = 0; k < prompts.size(); k++) {
                int[] p = prompts.get(k);
                for (int i = 0; i < p.length; i++) {
                    if (p[i] >= vocab)
                        throw new BadInputException(source() + ": prompt " + (k + 1) + ", token " + (i + 1) + ": id " + p[i]
                                + " is out of range [0, " + vocab + ") (the model's vocab_size)");
                }
            }
            RuntimeOptions options = RuntimeOptions.defaults();
            if (threads.given()) options = options.withThreads(threads.resolve());
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempDirectory(parent, "." + out.getFileName() + ".tmp-");
            try {
                ObjectMapper json = new ObjectMapper();
                ObjectNode root = json.createObjectNode();
                root.set("config", weights.config().toJson());
                root.putObject("modes").put("f32", "grok-kit " + GrokCli.VERSION + " runtime (float32, bit-reproducible) on the model's own weights");
                ObjectNode gen = root.putObject("generator");
                gen.put("script", "grok golden create");
                gen.put("grok_kit_version", GrokCli.VERSION);
                gen.put("model", modelDir.toAbsolutePath().normalize().getFileName().toString());
                Path manifest = modelDir.resolve(Manifest.FILE_NAME);
                gen.put("model_manifest_sha256", sha256(manifest));
                gen.put("source", source());
                root.put("logits_layout", "float32 [T, vocab_size], row t = next-token logits after tokens[0..t]");
                ArrayNode ps = root.putArray("prompts");
                try (GrokModel model = new GrokModel(weights, options)) {
                    for (int k = 0; k < prompts.size(); k++) {
                        int[] p = prompts.get(k);
                        float[][] logits = model.forward(p);
                        String file = "p" + k + ".f32.npy";
                        Npy.write(tmp.resolve(file), logits);
                        ObjectNode pn = ps.addObject();
                        pn.put("k", k);
                        ArrayNode tk = pn.putArray("tokens");
                        for (int id : p) tk.add(id);
                        pn.put("length", p.length);
                        pn.putArray("shape").add(p.length).add(vocab);
                        pn.putObject("files").put("f32", file);
                        pn.putObject("sha256").put("f32", sha256(tmp.resolve(file)));
                        ArrayNode am = pn.putObject("argmax").putArray("f32");
                        for (float[] row : logits) am.add(argmax(row));
                        err.printf(Locale.ROOT, "prompt %d/%d: %d tokens%n", k + 1, prompts.size(), p.length);
                        err.flush();
                    }
                }
                Files.writeString(tmp.resolve(grokkit.verify.GoldenSet.FILE_NAME),
                        json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                deleteTree(tmp);
            }
            long tokens = prompts.stream().mapToLong(p -> p.length).sum();
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %d prompts, %d tokens, in %.1f s%n",
                    out, prompts.size(), tokens, (System.nanoTime() - t0) / 1e9);
        }
        return ExitCodes.OK;
    }

    private String source() {
        return input.tokens != null ? "--tokens " + input.tokens : "--text " + input.text;
    }

    /** One prompt per non-blank line, ids separated by commas and/or whitespace. */
    static List<int[]> readTokenFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new BadInputException("--tokens " + file + ": no such file");
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException("--tokens " + file + ": not UTF-8 text");
        }
        List<int[]> prompts = new ArrayList<>();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).trim();
            if (line.isEmpty()) continue;
            String[] parts = line.split("[,\\s]+");
            int[] ids = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    ids[i] = Integer.parseInt(parts[i]);
                } catch (NumberFormatException e) {
                    throw new BadInputException("--tokens " + file + ": line " + (n + 1) + ": '" + parts[i] + "' is not a token id");
                }
                if (ids[i] < 0) throw new BadInputException("--tokens " + file + ": line " + (n + 1) + ": token id " + ids[i] + " is negative");
            }
            prompts.add(ids);
        }
        if (prompts.isEmpty()) throw new BadInputException("--tokens " + file + ": no prompts (the file is empty)");
        return prompts;
    }

    /** The text's ids cut into prompts of {@code chunk} tokens. */
    static List<int[]> readText(Path text, Path tokenizer, int chunk, int vocab) throws IOException {
        if (tokenizer == null) throw new BadInputException("--text needs --tokenizer FILE (the model's SentencePiece model)");
        if (!Files.isRegularFile(tokenizer)) throw new BadInputException("--tokenizer " + tokenizer + ": no such file");
        if (!Files.isRegularFile(text)) throw new BadInputException("--text " + text + ": no such file");
        SentencePieceTokenizer t = SentencePieceTokenizer.load(tokenizer);
        if (t.vocabSize() != vocab)
            throw new BadInputException("--tokenizer " + tokenizer + " has " + t.vocabSize() + " pieces, the model's vocabulary has " + vocab);
        String s;
        try {
            s = Files.readString(text, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException("--text " + text + ": not UTF-8 text");
        }
        int[] ids = t.encode(s);
        if (ids.length == 0) throw new BadInputException("--text " + text + ": no tokens (the text is empty)");
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < ids.length; i += chunk) prompts.add(Arrays.copyOfRange(ids, i, Math.min(ids.length, i + chunk)));
        return prompts;
    }

    private static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    static String sha256(Path f) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(f)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
