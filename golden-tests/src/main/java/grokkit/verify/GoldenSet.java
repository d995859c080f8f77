package grokkit.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import grokkit.errors.BadInputException;
import grokkit.io.Npy;
import grokkit.model.ModelConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A directory of golden logits: {@code golden.json} plus one {@code .npy} file per prompt and
 * mode. The format is documented in {@code docs/GOLDEN.md}. Reading validates the whole
 * description up front (vocabulary size, token ids, shapes, file names) so a broken golden
 * directory fails before any model is run; the logits themselves are loaded one prompt at a time
 * (a real Grok-1 prompt of T tokens is T × 131072 floats).
 */
public final class GoldenSet {
    public static final String FILE_NAME = "golden.json";

    /**
     * One golden prompt.
     *
     * @param k      the prompt's id (unique in the set)
     * @param tokens the token ids fed to the model
     * @param files  mode → logits file name (relative to the golden directory)
     * @param sha256 mode → expected SHA-256 of that file (may be empty)
     */
    public record Prompt(int k, int[] tokens, Map<String, String> files, Map<String, String> sha256) {
        public int length() {
            return tokens.length;
        }
    }

    private final Path dir;
    private final Path json;
    private final int vocabSize;
    private final Map<String, String> modes;
    private final List<Prompt> prompts;
    private final JsonNode root;

    private GoldenSet(Path dir, Path json, int vocabSize, Map<String, String> modes, List<Prompt> prompts, JsonNode root) {
        this.dir = dir;
        this.json = json;
        this.vocabSize = vocabSize;
        this.modes = modes;
        this.prompts = prompts;
        this.root = root;
    }

    public Path dir() {
        return dir;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Mode name → description (from {@code modes}, or the modes the prompts have files for). */
    public Map<String, String> modes() {
        return modes;
    }

    public List<Prompt> prompts() {
        return prompts;
    }

    /** The parsed {@code golden.json}, for fields this class does not model (config, generator, routing). */
    public JsonNode json() {
        return root;
    }

    /** Reads and validates {@code DIR/golden.json}. */
    public static GoldenSet read(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": golden directory does not exist");
        Path json = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(json)) throw new BadInputException(json + ": missing (a golden directory needs " + FILE_NAME + ")");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(grokkit.io.InputFiles.readAll(json, "", 64L << 20));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(json + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new BadInputException(json + ": expected a JSON object");
        int vocab = positiveInt(json, root.path("config").path("vocab_size"), "config.vocab_size");

        JsonNode ps = root.path("prompts");
        if (!ps.isArray() || ps.isEmpty()) throw new BadInputException(json + ": 'prompts' must be a non-empty array");
        List<Prompt> prompts = new ArrayList<>();
        Set<Integer> ks = new HashSet<>();
        Set<String> fileModes = new java.util.LinkedHashSet<>();
        for (int i = 0; i < ps.size(); i++) {
            Prompt p = readPrompt(json, ps.get(i), i, vocab);
            if (!ks.add(p.k())) throw new BadInputException(json + ": prompts[" + i + "]: duplicate k " + p.k());
            fileModes.addAll(p.files().keySet());
            prompts.add(p);
        }
        Map<String, String> modes = new LinkedHashMap<>();
        JsonNode m = root.path("modes");
        if (m.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                modes.put(e.getKey(), e.getValue().asText());
            }
        }
        for (String fm : fileModes) modes.putIfAbsent(fm, "");
        return new GoldenSet(dir, json, vocab, modes, List.copyOf(prompts), root);
    }

    private static Prompt readPrompt(Path json, JsonNode p, int i, int vocab) throws BadInputException {
        String where = json + ": prompts[" + i + "]";
        if (!p.isObject()) throw new BadInputException(where + ": expected an object");
        int k = p.has("k") ? nonNegativeInt(json, p.get("k"), "prompts[" + i + "].k") : i;
        JsonNode t = p.path("tokens");
        if (!t.isArray() || t.isEmpty()) throw new BadInputException(where + ": 'tokens' must be a non-empty array of token ids");
        int[] tokens = new int[t.size()];
        for (int j = 0; j < tokens.length; j++) {
            JsonNode v = t.get(j);
            if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() >= vocab) {
                throw new BadInputException(where + ": token " + j + " = " + v + " is not an id in [0, " + vocab + ")");
            }
            tokens[j] = v.asInt();
        }
        if (p.has("length") && p.get("length").asLong(-1) != tokens.length) {
            throw new BadInputException(where + ": 'length' " + p.get("length") + " != " + tokens.length + " tokens");
        }
        if (p.has("shape")) {
            JsonNode s = p.get("shape");
            if (!s.isArray() || s.size() != 2 || s.get(0).asLong(-1) != tokens.length || s.get(1).asLong(-1) != vocab) {
                throw new BadInputException(where + ": 'shape' " + s + " != [" + tokens.length + ", " + vocab + "]");
            }
        }
        JsonNode f = p.path("files");
        if (!f.isObject() || f.isEmpty()) throw new BadInputException(where + ": 'files' must map modes to .npy file names");
        Map<String, String> files = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = f.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getValue().asText("");
            // Names are plain file names inside the golden directory: refuse paths, so a hostile
            // golden.json cannot make us read (or, with --logits-dir, look for) files elsewhere.
            if (!e.getValue().isTextual() || name.isEmpty() || name.contains("/") || name.contains("\\")
                    || name.equals(".") || name.equals("..")) {
                throw new BadInputException(where + ": files." + e.getKey() + " must be a plain file name, got " + e.getValue());
            }
            files.put(e.getKey(), name);
        }
        Map<String, String> sha = new LinkedHashMap<>();
        JsonNode h = p.path("sha256");
        if (h.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                sha.put(e.getKey(), e.getValue().asText().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return new Prompt(k, tokens, Map.copyOf(files), Map.copyOf(sha));
    }

    /**
     * Checks that the golden logits belong to a model of this shape: every
     * {@link ModelConfig#FIELDS hyper-parameter} that {@code golden.json}'s {@code config} gives
     * must equal the model's (doubles to a relative 1e-9; {@code sequence_len} is not compared).
     * Comparing a 64-layer model against goldens of a 3-layer one would otherwise just "fail"
     * with a huge KL, hiding the real mistake.
     */
    public void requireSameModel(ModelConfig model, String modelName) throws BadInputException {
        JsonNode golden = root.path("config");
        JsonNode ours = model.toJson();
        List<String> diffs = new ArrayList<>();
        for (String f : ModelConfig.FIELDS) {
            if (f.equals("sequence_len") || !golden.has(f) || !golden.get(f).isNumber()) continue;
            double g = golden.get(f).asDouble(), o = ours.path(f).asDouble();
            boolean same = g == o || Math.abs(g - o) <= 1e-9 * Math.max(Math.abs(g), Math.abs(o));
            if (!same) diffs.add(f + " " + golden.get(f) + " (golden) vs " + ours.path(f) + " (model)");
        }
        if (!diffs.isEmpty()) {
            throw new BadInputException(json + ": the golden logits are for a different model than " + modelName + ": "
                    + String.join("; ", diffs));
        }
    }

    /** Checks that every prompt has a logits file for {@code mode} and that the files exist. */
    public void requireMode(String mode) throws BadInputException {
        for (Prompt p : prompts) {
            String name = p.files().get(mode);
            if (name == null) {
                throw new BadInputException(json + ": prompt k=" + p.k() + " has no logits for mode '" + mode
                        + "' (modes in this golden set: " + String.join(", ", modes.keySet()) + ")");
            }
            Path f = dir.resolve(name);
            if (!Files.isRegularFile(f)) throw new BadInputException(f + ": golden logits file missing (listed in " + json + ")");
        }
    }

    /** The golden logits file of a prompt in a mode. */
    public Path file(Prompt p, String mode) throws BadInputException {
        String name = p.files().get(mode);
        if (name == null) throw new BadInputException(json + ": prompt k=" + p.k() + " has no logits for mode '" + mode + "'");
        return dir.resolve(name);
    }

    /**
     * Loads the golden logits {@code [T, vocab]} of a prompt, checking the SHA-256 recorded in
     * {@code golden.json} (when present) and that every value is finite.
     */
    public float[][] logits(Prompt p, String mode) throws IOException {
        Path f = file(p, mode);
        String want = p.sha256().get(mode);
        if (want != null && !want.isEmpty()) {
            String got = sha256(f);
            if (!got.equals(want)) {
                throw new BadInputException(f + ": SHA-256 " + got + " does not match " + want + " recorded in " + json);
            }
        }
        float[][] x = Npy.readMatrix(f, p.length(), vocabSize);
        for (int t = 0; t < x.length; t++) {
            for (int i = 0; i < x[t].length; i++) {
                if (!Float.isFinite(x[t][i])) {
                    throw new BadInputException(f + ": non-finite golden logit " + x[t][i] + " at row " + t + ", column " + i);
                }
            }
        }
        return x;
    }

    static String sha256(Path f) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(grokkit.io.InputFiles.open(f, ""), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static int positiveInt(Path json, JsonNode n, String field) throws BadInputException {
        if (!n.isIntegralNumber() || n.asLong() <= 0 || n.asLong() > Integer.MAX_VALUE) {
            throw new BadInputException(json + ": '" + field + "' must be a positive integer, got "
                    + (n.isMissingNode() ? "nothing" : n.toString()));
        }
        return n.asInt();
    }

    private static int nonNegativeInt(Path json, JsonNode n, String field) throws BadInputException {
        if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() > Integer.MAX_VALUE) {
            throw new BadInputException(json + ": '" + field + "' must be a non-negative integer, got " + n);
        }
        return n.asInt();
    }
}
