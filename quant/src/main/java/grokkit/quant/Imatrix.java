package grokkit.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.io.Npy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * An importance matrix ({@code grok imatrix}): per layer and expert, the mean square of every
 * input channel of the expert's products over the calibration tokens routed to it, and those
 * token counts. {@code grok convert --imatrix} weights q4nl's error by it (issue 6, the idea of
 * llama.cpp's imatrix and AWQ: an input that is usually large matters more).
 *
 * <p>Files (docs/FORMAT.md, "Importance matrix"): a JSON index {@code NAME} and, beside it,
 * {@code NAME.expert_in.npy} ({@code <f4 [layers·experts, emb]}, row {@code l·experts + e}: mean
 * x² of the input of moe/linear and moe/linear_v) and {@code NAME.down_in.npy}
 * ({@code <f4 [layers·experts, ffn]}: mean h² of the input of moe/linear_1). The index holds the
 * shape, the token counts {@code [layers][experts]} and the arrays' SHA-256; {@link #sha256} is
 * the index file's, which therefore covers everything.
 */
public final class Imatrix {
    public static final String FORMAT = "grok-imatrix";
    public static final int VERSION = 1;

    /**
     * Importance floor, relative to the matrix's mean importance: a channel that no calibration
     * token exercised still counts a little (a prompt outside the calibration text may use it).
     */
    public static final float FLOOR = 0.01f;

    private final int layers, experts, emb, ffn;
    private final long[][] tokens;
    private final float[][] expertIn, downIn;
    private final String calibration;
    private final String sha256;

    /**
     * @param tokens      [layers][experts] tokens routed to each expert
     * @param expertIn    [layers·experts][emb] mean x² of the gate/up input
     * @param downIn      [layers·experts][ffn] mean h² of the down input
     * @param calibration what the statistics were collected on (free text, recorded)
     */
    public Imatrix(int layers, int experts, int emb, int ffn, long[][] tokens, float[][] expertIn, float[][] downIn, String calibration) {
        this(layers, experts, emb, ffn, tokens, expertIn, downIn, calibration, null);
    }

    private Imatrix(int layers, int experts, int emb, int ffn, long[][] tokens, float[][] expertIn, float[][] downIn, String calibration, String sha256) {
        if (tokens.length != layers || expertIn.length != layers * experts || downIn.length != layers * experts)
            throw new IllegalArgumentException("imatrix: arrays do not match layers=" + layers + " experts=" + experts);
        this.layers = layers;
        this.experts = experts;
        this.emb = emb;
        this.ffn = ffn;
        this.tokens = tokens;
        this.expertIn = expertIn;
        this.downIn = downIn;
        this.calibration = calibration;
        this.sha256 = sha256;
    }

    public int layers() { return layers; }
    public int experts() { return experts; }
    public int embSize() { return emb; }
    public int ffnSize() { return ffn; }
    public String calibration() { return calibration; }
    /** SHA-256 (hex) of the index file this was read from; null if not read from a file. */
    public String sha256() { return sha256; }

    public long tokens(int layer, int expert) {
        return tokens[layer][expert];
    }

    /** Mean x² of the gate/up input (down: of the down input) of (layer, expert), a copy. */
    public float[] meanSquares(int layer, int expert, boolean down) {
        return (down ? downIn : expertIn)[layer * experts + expert].clone();
    }

    /**
     * The q4nl error weights of one expert matrix's inputs: its mean squares divided by their
     * mean (so 1 on average; all ones when every channel is alike), at least {@link #FLOOR}. An
     * expert that saw no calibration token takes its layer's token-weighted mean over experts;
     * null if the layer saw none or every value is zero (then the encoding is unweighted).
     */
    public float[] importance(int layer, int expert, boolean down) {
        float[][] src = down ? downIn : expertIn;
        int n = down ? ffn : emb;
        double[] m = new double[n];
        if (tokens[layer][expert] > 0) {
            float[] row = src[layer * experts + expert];
            for (int i = 0; i < n; i++) m[i] = row[i];
        } else {
            long total = 0;
            for (int e = 0; e < experts; e++) {
                long t = tokens[layer][e];
                if (t == 0) continue;
                total += t;
                float[] row = src[layer * experts + e];
                for (int i = 0; i < n; i++) m[i] += (double) t * row[i];
            }
            if (total == 0) return null;
            for (int i = 0; i < n; i++) m[i] /= total;
        }
        double sum = 0;
        for (double v : m) sum += v;
        double mean = sum / n;
        if (!(mean > 0) || !Double.isFinite(mean)) return null;
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = Math.max(FLOOR, (float) (m[i] / mean));
        return w;
    }

    /** Throws a {@link BadInputException} naming {@code file} unless this matches the model's shape. */
    public void checkModel(Path file, int modelLayers, int modelExperts, int modelEmb, int modelFfn) throws BadInputException {
        if (layers != modelLayers || experts != modelExperts || emb != modelEmb || ffn != modelFfn)
            throw new BadInputException(file + ": importance matrix is for layers=" + layers + " experts=" + experts + " emb=" + emb
                    + " ffn=" + ffn + ", the model has layers=" + modelLayers + " experts=" + modelExperts + " emb=" + modelEmb + " ffn=" + modelFfn);
    }

    private static Path array(Path index, String what) {
        return index.resolveSibling(index.getFileName() + "." + what + ".npy");
    }

    /** Writes the index {@code file} and its two arrays beside it. */
    public void write(Path file) throws IOException {
        Path eIn = array(file, "expert_in"), dIn = array(file, "down_in");
        Npy.write(eIn, expertIn);
        Npy.write(dIn, downIn);
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode o = om.createObjectNode();
        o.put("format", FORMAT);
        o.put("version", VERSION);
        o.put("layers", layers);
        o.put("experts", experts);
        o.put("emb_size", emb);
        o.put("ffn_size", ffn);
        o.put("calibration", calibration);
        ArrayNode t = o.putArray("tokens");
        for (long[] row : tokens) {
            ArrayNode r = t.addArray();
            for (long v : row) r.add(v);
        }
        ObjectNode arrays = o.putObject("arrays");
        putArray(arrays, "expert_in", eIn);
        putArray(arrays, "down_in", dIn);
        grokkit.io.OutputFiles.write(file, "", (om.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void putArray(ObjectNode arrays, String key, Path p) throws IOException {
        ObjectNode a = arrays.putObject(key);
        a.put("file", p.getFileName().toString());
        a.put("sha256", sha256(Files.readAllBytes(p)));
    }

    /** Reads and checks an index and its arrays; any problem is a {@link BadInputException} naming the file. */
    public static Imatrix read(Path file) throws IOException {
        byte[] bytes;
        try {
            if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
            bytes = grokkit.io.InputFiles.readAll(file, "", 64L << 20);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": importance matrix file not found");
        }
        JsonNode o;
        try {
            o = new ObjectMapper().readTree(bytes);
        } catch (IOException e) {
            throw new BadInputException(file + ": not an importance matrix index (invalid JSON: " + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (o == null || !FORMAT.equals(o.path("format").asText()))
            throw new BadInputException(file + ": not an importance matrix index (\"format\" is not \"" + FORMAT + "\"; make one with grok imatrix)");
        if (o.path("version").asInt() != VERSION)
            throw new BadInputException(file + ": importance matrix version " + o.path("version") + " is not supported (expected " + VERSION + ")");
        int layers = positive(file, o, "layers"), experts = positive(file, o, "experts"), emb = positive(file, o, "emb_size"), ffn = positive(file, o, "ffn_size");
        JsonNode t = o.path("tokens");
        if (!t.isArray() || t.size() != layers) throw new BadInputException(file + ": \"tokens\" must be " + layers + " arrays of " + experts + " counts");
        long[][] tokens = new long[layers][experts];
        for (int l = 0; l < layers; l++) {
            JsonNode r = t.get(l);
            if (!r.isArray() || r.size() != experts) throw new BadInputException(file + ": \"tokens\"[" + l + "] must hold " + experts + " counts");
            for (int e = 0; e < experts; e++) {
                if (!r.get(e).canConvertToLong() || r.get(e).asLong() < 0) throw new BadInputException(file + ": \"tokens\"[" + l + "][" + e + "] is not a count");
                tokens[l][e] = r.get(e).asLong();
            }
        }
        float[][] eIn = readArray(file, o, "expert_in", layers * experts, emb);
        float[][] dIn = readArray(file, o, "down_in", layers * experts, ffn);
        return new Imatrix(layers, experts, emb, ffn, tokens, eIn, dIn, o.path("calibration").asText(""), sha256(bytes));
    }

    private static int positive(Path file, JsonNode o, String key) throws BadInputException {
        JsonNode v = o.path(key);
        if (!v.canConvertToInt() || v.asInt() < 1) throw new BadInputException(file + ": \"" + key + "\" must be a positive integer, got " + v);
        return v.asInt();
    }

    private static float[][] readArray(Path file, JsonNode o, String key, int rows, int cols) throws IOException {
        JsonNode a = o.path("arrays").path(key);
        String name = a.path("file").asText("");
        if (name.isEmpty() || name.contains("/") || name.contains("\\"))
            throw new BadInputException(file + ": \"arrays\".\"" + key + "\".\"file\" must name a file beside the index, got '" + name + "'");
        Path p = file.resolveSibling(name);
        byte[] data;
        try {
            if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
            data = grokkit.io.InputFiles.readAll(p, "", Integer.MAX_VALUE - 16);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": its array " + p + " is missing");
        }
        if (!sha256(data).equals(a.path("sha256").asText()))
            throw new BadInputException(file + ": its array " + p + " does not match the recorded SHA-256 (changed or truncated)");
        float[][] m = Npy.readMatrix(p, rows, cols);
        for (float[] r : m)
            for (float v : r)
                if (!(v >= 0) || !Float.isFinite(v)) throw new BadInputException(p + ": mean squares must be finite and >= 0, found " + v);
        return m;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
