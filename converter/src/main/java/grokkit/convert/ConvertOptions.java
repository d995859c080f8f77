package grokkit.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.quant.Encoding;
import grokkit.quant.EncodingSpec;
import grokkit.quant.Q4Encoder;

import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The options of {@code grok convert}. Only the ones that change the output bytes are written
 * to the manifest ({@link #toManifestJson}); threads and resume never change a byte.
 *
 * @param experts    {@code int8} (xAI's values, lossless), {@code int4} (= q4nl, the best int4 encoding),
 *                   or an explicit encoding: {@code q4}, {@code q4nl}, {@code q4_0}
 * @param attention  {@code int8} or {@code int4} (= q4nl) for the attention projections
 * @param embeddings {@code f32} (lossless) or {@code bf16} for the embedding table
 * @param groupSize  int4 group size along the input dimension (32, 64 or 128)
 * @param tokenizer  a tokenizer file to copy into the output, or null
 * @param threads    worker threads
 * @param shardSize  maximum shard size in bytes (a single larger tensor gets a shard of its own)
 * @param resume     keep completed shards whose checksums verify
 * @param imatrix    an importance matrix index ({@code grok imatrix}) weighting the q4nl error of
 *                   the experts, or null (unweighted)
 */
public record ConvertOptions(String experts, String attention, String embeddings, int groupSize,
                             Path tokenizer, int threads, long shardSize, boolean resume, Path imatrix) {
    /** Without an importance matrix. */
    public ConvertOptions(String experts, String attention, String embeddings, int groupSize,
                          Path tokenizer, int threads, long shardSize, boolean resume) {
        this(experts, attention, embeddings, groupSize, tokenizer, threads, shardSize, resume, null);
    }

    public static final long DEFAULT_SHARD_SIZE = 4L << 30;
    public static final int DEFAULT_GROUP_SIZE = 32;
    /**
     * Values of {@code --experts}: int8 (lossless), int4 (= q4nl, the best int4 encoding: {@link Encoding#Q4NL}'s alias),
     * q4 (the squared-error-search uniform grid), q4nl (non-uniform grid + channel scales,
     * {@link grokkit.quant.Q4Nl}; lower KL than Q4_0 at fewer bits: docs/benchmarks/int4.md), q4_0 (llama.cpp's Q4_0, a
     * comparison baseline).
     */
    public static final java.util.List<String> EXPERT_VALUES = java.util.List.of("int8", "int4", "q4", "q4nl", "q4_0");

    /** The scale type of q4 groups: f16 keeps 3 more significand bits than bf16, ample range for weights. */
    public static final String Q4_SCALE_TYPE = "f16";

    /**
     * The q4 scale rule the converter uses, recorded in the manifest: the squared-error search
     * ({@link Q4Encoder.ScaleChoice#SEARCH}). Plain absmax/7 remains in {@link Q4Encoder} for
     * tests and measurements, not as a conversion option.
     */
    public static final String Q4_SCALE_RULE = "least-squared-error";

    public static ConvertOptions defaults() {
        return new ConvertOptions("int8", "int8", "f32", DEFAULT_GROUP_SIZE, null,
                Runtime.getRuntime().availableProcessors(), DEFAULT_SHARD_SIZE, false);
    }

    public ConvertOptions withExperts(String v) { return new ConvertOptions(v, attention, embeddings, groupSize, tokenizer, threads, shardSize, resume, imatrix); }
    public ConvertOptions withAttention(String v) { return new ConvertOptions(experts, v, embeddings, groupSize, tokenizer, threads, shardSize, resume, imatrix); }
    public ConvertOptions withEmbeddings(String v) { return new ConvertOptions(experts, attention, v, groupSize, tokenizer, threads, shardSize, resume, imatrix); }
    public ConvertOptions withGroupSize(int v) { return new ConvertOptions(experts, attention, embeddings, v, tokenizer, threads, shardSize, resume, imatrix); }
    public ConvertOptions withTokenizer(Path v) { return new ConvertOptions(experts, attention, embeddings, groupSize, v, threads, shardSize, resume, imatrix); }
    public ConvertOptions withThreads(int v) { return new ConvertOptions(experts, attention, embeddings, groupSize, tokenizer, v, shardSize, resume, imatrix); }
    public ConvertOptions withShardSize(long v) { return new ConvertOptions(experts, attention, embeddings, groupSize, tokenizer, threads, v, resume, imatrix); }
    public ConvertOptions withImatrix(Path v) { return new ConvertOptions(experts, attention, embeddings, groupSize, tokenizer, threads, shardSize, resume, v); }
    public ConvertOptions withResume(boolean v) { return new ConvertOptions(experts, attention, embeddings, groupSize, tokenizer, threads, shardSize, v, imatrix); }

    /** Throws a {@link BadInputException} naming the option that is wrong. */
    public void validate() throws BadInputException {
        if (!EXPERT_VALUES.contains(experts))
            throw new BadInputException("--experts must be one of " + String.join(", ", EXPERT_VALUES) + ", got '" + experts + "'");
        if (!ATTENTION_VALUES.contains(attention))
            throw new BadInputException("--attention must be " + String.join(" or ", ATTENTION_VALUES) + ", got '" + attention + "'");
        if (!EMBEDDING_VALUES.contains(embeddings))
            throw new BadInputException("--embeddings must be " + String.join(" or ", EMBEDDING_VALUES) + ", got '" + embeddings + "'");
        if (groupSize != 32 && groupSize != 64 && groupSize != 128) throw new BadInputException("--group-size must be 32, 64 or 128, got " + groupSize);
        if (threads < 1) throw new BadInputException("--threads must be at least 1, got " + threads);
        if (shardSize < 4096) throw new BadInputException("--shard-size must be at least 4096 bytes, got " + shardSize + " bytes");
        if (shardSize > MAX_SHARD_SIZE) throw new BadInputException("--shard-size must be at most " + MAX_SHARD_SIZE + " bytes, got " + shardSize);
        if (imatrix != null && !expertEncoding().weighsImportance())
            throw new BadInputException("--imatrix " + imatrix + ": only q4nl experts (--experts int4 or q4nl) use an importance matrix, got --experts " + experts);
    }

    /** Values of {@code --attention}: int8 (lossless) or int4 (= q4nl). */
    public static final java.util.List<String> ATTENTION_VALUES = java.util.List.of("int8", "int4");
    /** Values of {@code --embeddings}. */
    public static final java.util.List<String> EMBEDDING_VALUES = java.util.List.of("f32", "bf16");

    /** The encoding {@code --experts} names ({@link Encoding}'s names and aliases: int8 is int8-rowblock, int4 is q4nl). */
    public Encoding expertEncoding() {
        return Encoding.of(experts);
    }

    /** The encoding {@code --attention} names. */
    public Encoding attentionEncoding() {
        return Encoding.of(attention);
    }

    /** The spec of the embedding table under {@code --embeddings}. */
    public EncodingSpec embeddingSpec() {
        return switch (Encoding.of(embeddings)) {
            case F32 -> EncodingSpec.f32();
            case BF16 -> EncodingSpec.bf16();
            case INT8_ROWBLOCK, Q8, Q4, Q4_0, Q4NL -> throw new IllegalStateException("--embeddings " + embeddings + " (validate() rejects it)");
        };
    }

    /**
     * The spec of an int8 source matrix under {@code option} (an {@code --experts} or
     * {@code --attention} encoding). Under {@code q4}, a matrix whose
     * input dimension is not a multiple of the group size (never in Grok-1; e.g. ffn 344 in the
     * small fixtures) gets the largest even group size below it that divides the input dimension,
     * at least 8; failing that it stays int8. The manifest records each matrix's actual group size.
     */
    EncodingSpec encodingFor(Encoding option, int in, int rowBlocks) {
        return switch (option) {
            // q4nl and q4_0 take any input dimension (ragged last group; q4_0 zero-pads it, as llama.cpp would see it).
            case Q4NL -> EncodingSpec.q4nl(groupSize);
            case Q4_0 -> EncodingSpec.q4_0();
            case Q4 -> {
                int g = effectiveGroupSize(in);
                yield g > 0 ? EncodingSpec.q4(g, Q4_SCALE_TYPE) : EncodingSpec.int8RowBlock(in, rowBlocks);
            }
            case INT8_ROWBLOCK -> EncodingSpec.int8RowBlock(in, rowBlocks);
            case F32, BF16, Q8 -> throw new IllegalStateException(option + " is not an int8-matrix option (validate() rejects it)");
        };
    }

    /** {@link #groupSize} if it divides {@code in}, else the largest even divisor of in below it (≥ 8), else 0. */
    int effectiveGroupSize(int in) {
        for (int g = groupSize; g >= 8; g -= 2) if (in % g == 0) return g;
        return 0;
    }

    /** The output-affecting options, as recorded in the manifest's {@code conversion} object. */
    public ObjectNode toManifestJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("experts", experts);
        o.put("attention", attention);
        o.put("embeddings", embeddings);
        o.put("group_size", groupSize);
        o.put("q4_scale_type", Q4_SCALE_TYPE);
        o.put("q4_scale_rule", Q4_SCALE_RULE);
        o.put("shard_size", shardSize);
        return o;
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b?)", Pattern.CASE_INSENSITIVE);

    /** Parses {@code 4GiB}, {@code 512MiB}, {@code 2G}, {@code 1000000} (K/M/G/T are powers of 1024). */
    public static long parseSize(String s) throws BadInputException {
        Matcher m = SIZE.matcher(s.trim());
        if (!m.matches()) throw new BadInputException("--shard-size: cannot read '" + s + "' (examples: 4GiB, 512MiB, 1000000)");
        long v;
        try {
            v = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new BadInputException("--shard-size: '" + s + "' is too large (at most " + MAX_SHARD_SIZE + " bytes)");
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        if (v > MAX_SHARD_SIZE >> shift) throw new BadInputException("--shard-size: '" + s + "' is too large (at most " + MAX_SHARD_SIZE + " bytes = 1 PiB)");
        return v << shift;
    }

    /** The largest --shard-size (1 PiB): far beyond any model, and no shift or sum of sizes can overflow. */
    public static final long MAX_SHARD_SIZE = 1L << 50;
}
