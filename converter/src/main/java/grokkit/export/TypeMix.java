package grokkit.export;

import grokkit.errors.BadInputException;
import grokkit.gguf.GgmlType;

import java.util.Locale;

/**
 * Which ggml type each tensor class gets, and the fallback when a tensor's rows do not fit a
 * type's block.
 *
 * <p>The default mix for {@code --type T}: experts T; attention and the tied embedding/output
 * head T for the float types and q8_0, and q8_0 for the 4- to 6-bit types (they are ~2% of
 * Grok-1's weights, and the output head's error reaches every logit); router and norms f32.
 *
 * <p>Fallbacks follow {@code llama-quantize} ({@code tensor_type_fallback} in
 * src/llama-quant.cpp): q4_k → q5_0, q5_k → q5_1, q6_k → q8_0, and f16 when even the 32-value
 * block does not fit. Where llama-quantize stops (a 32-block type on rows that are not a
 * multiple of 32) this export also falls back, to f16, and says so.
 */
public record TypeMix(GgmlType experts, GgmlType attention, GgmlType embedding) {
    /** The mix for {@code --type} with optional overrides (null = the default for that class). */
    public static TypeMix of(GgmlType type, GgmlType attentionOrNull, GgmlType embeddingOrNull) {
        GgmlType side = switch (type) {
            case F32, F16, BF16, Q8_0 -> type;
            default -> GgmlType.Q8_0;
        };
        return new TypeMix(type, attentionOrNull == null ? side : attentionOrNull, embeddingOrNull == null ? side : embeddingOrNull);
    }

    /** The types the export can write with this build's codecs. */
    public static String writable() {
        StringBuilder b = new StringBuilder();
        for (GgmlType t : GgmlType.values()) if (t.hasCodec()) b.append(b.isEmpty() ? "" : ", ").append(t.cliName());
        return b.toString();
    }

    /** Parses a type name as llama.cpp's tools spell it (f32, q8_0, q4_k, iq4_nl); {@code option} names the option in errors. */
    public static GgmlType parse(String name, String option) throws BadInputException {
        GgmlType t = null;
        for (GgmlType g : GgmlType.values()) if (g.cliName().equals(name.trim().toLowerCase(Locale.ROOT))) t = g;
        if (t == null) throw new BadInputException(option + " " + name + ": unknown type (known: " + known() + ")");
        if (!t.hasCodec())
            throw new BadInputException(option + " " + name + ": this build has no quantizer for " + t.cliName() + " yet (it can write: " + writable() + ")");
        return t;
    }

    private static String known() {
        StringBuilder b = new StringBuilder();
        for (GgmlType t : GgmlType.values()) b.append(b.isEmpty() ? "" : ", ").append(t.cliName());
        return b.toString();
    }

    /** The type wanted for a class, before fallback. */
    public GgmlType wanted(TensorClass c) {
        return switch (c) {
            case EXPERT -> experts;
            case ATTENTION -> attention;
            case EMBEDDING -> embedding;
            case ROUTER, NORM -> GgmlType.F32;
        };
    }

    /** A type chosen for one tensor: the type, and why it is not the wanted one (null when it is). */
    public record Choice(GgmlType type, String fallbackNote) {}

    /** The type for a tensor of class {@code c} whose rows are {@code ne0} long. */
    public Choice choose(TensorClass c, long ne0) {
        GgmlType want = wanted(c);
        if (want.fitsRow(ne0)) return new Choice(want, null);
        GgmlType fb = switch (want) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> GgmlType.F16;
        };
        String why = "rows of " + ne0 + " are not a multiple of " + want.cliName() + "'s block of " + want.blockSize();
        if (!fb.fitsRow(ne0)) fb = GgmlType.F16;
        if (!fb.hasCodec()) fb = GgmlType.Q8_0.fitsRow(ne0) ? GgmlType.Q8_0 : GgmlType.F16;
        return new Choice(fb, why + ": " + fb.cliName() + " instead");
    }

    /** llama.cpp's {@code general.file_type} (llama_ftype) for a mix led by {@code experts}. */
    public int fileType() {
        return switch (experts) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q4_K -> 15;
            case Q5_K -> 17;
            case Q6_K -> 18;
            case IQ4_NL -> 25;
            case BF16 -> 32;
        };
    }
}
