package grokkit.shard;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import grokkit.quant.EncodingSpec;

/**
 * One stored matrix or vector of the manifest.
 *
 * @param name    the reference's parameter name ({@code transformer/decoder_layer_0/moe/linear/w})
 * @param expert  the expert index for MoE weights (one record per expert), otherwise null
 * @param shape   the logical shape of this record's data as the checkpoint has it (for an expert,
 *                the per-expert {@code [in, out]})
 * @param in      input dimension of the stored matrix (length of each out-major row)
 * @param out     output dimension (number of out-major rows); 1 for a vector
 * @param encoding the encoding and its parameters
 * @param shard   file name of the shard holding both regions
 * @param weights the weights region
 * @param scales  the scales region, or null for encodings without scales
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "expert", "shape", "in", "out", "encoding", "shard", "weights", "scales"})
public record TensorRecord(@JsonProperty("name") String name,
                           @JsonProperty("expert") Integer expert,
                           @JsonProperty("shape") long[] shape,
                           @JsonProperty("in") int in,
                           @JsonProperty("out") int out,
                           @JsonProperty("encoding") Encoding encoding,
                           @JsonProperty("shard") String shard,
                           @JsonProperty("weights") Region weights,
                           @JsonProperty("scales") Region scales) {

    /** The encoding fields of {@link EncodingSpec}, plus the scale layout spelled out. */
    @JsonPropertyOrder({"name", "group_size", "scale_type", "scale_layout"})
    public record Encoding(@JsonProperty("name") String name,
                           @JsonProperty("group_size") int groupSize,
                           @JsonProperty("scale_type") String scaleType,
                           @JsonProperty("scale_layout") String scaleLayout) {
        /** The only layout of format 1: out-major rows, groups of group_size consecutive inputs. */
        public static final String OUT_MAJOR_GROUPS = "out-major-groups";
        public static final String NONE = "none";

        public static Encoding of(EncodingSpec spec) {
            return new Encoding(spec.name(), spec.groupSize(), spec.scaleType(), spec.encoding().scaleLayout());
        }

        /**
         * The spec of this record; its name must be a known encoding ({@link Manifest#read}
         * checked it: otherwise {@link IllegalArgumentException}).
         */
        public EncodingSpec spec() {
            return new EncodingSpec(grokkit.quant.Encoding.of(name), groupSize, scaleType);
        }
    }

    /** A display name: {@code name} or {@code name[expert e]}. */
    public String label() {
        return expert == null ? name : name + " [expert " + expert + "]";
    }

    public EncodingSpec spec() {
        return encoding.spec();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorRecord t && name.equals(t.name) && java.util.Objects.equals(expert, t.expert)
                && java.util.Arrays.equals(shape, t.shape) && in == t.in && out == t.out && encoding.equals(t.encoding)
                && shard.equals(t.shard) && weights.equals(t.weights) && java.util.Objects.equals(scales, t.scales);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(name, expert, java.util.Arrays.hashCode(shape), in, out, encoding, shard, weights, scales);
    }

    @Override
    public String toString() {
        return "TensorRecord[" + label() + " " + java.util.Arrays.toString(shape) + " " + encoding.name + " in " + shard + "]";
    }
}
