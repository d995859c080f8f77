package grokkit.shard;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code manifest.json} of a sharded model directory (format described in docs/FORMAT.md).
 * It is written last by the converter: a directory without it is an incomplete conversion.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"format", "format_version", "config", "tokenizer", "conversion", "alignment", "shards", "tensors"})
public record Manifest(@JsonProperty("format") String format,
                       @JsonProperty("format_version") int formatVersion,
                       @JsonProperty("config") ObjectNode config,
                       @JsonProperty("tokenizer") String tokenizer,
                       @JsonProperty("conversion") ObjectNode conversion,
                       @JsonProperty("alignment") int alignment,
                       @JsonProperty("shards") List<ShardInfo> shards,
                       @JsonProperty("tensors") List<TensorRecord> tensors) {

    public static final String FILE_NAME = "manifest.json";
    public static final String FORMAT = "grok-kit sharded model";
    public static final int FORMAT_VERSION = 1;
    /** Every region starts at a multiple of this many bytes (a cache line; AVX-512 friendly). */
    public static final int ALIGNMENT = 64;

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The model configuration the manifest carries. */
    public ModelConfig modelConfig() throws BadInputException {
        try {
            return ModelConfig.merge(config, ModelConfig.grok1(), "manifest.json config").config();
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    /** The manifest as the exact bytes written to disk (UTF-8 JSON, trailing newline). */
    public byte[] toBytes() {
        try {
            return (JSON.writeValueAsString(this) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@code dir/manifest.json} through a temporary name, so it appears complete or not at all. */
    public void write(Path dir) throws IOException {
        Path tmp = dir.resolve(FILE_NAME + ".tmp");
        Files.write(tmp, toBytes());
        AtomicFiles.moveIntoPlace(tmp, dir.resolve(FILE_NAME));
    }

    /**
     * Reads {@code dir/manifest.json} and validates all of it ({@link ManifestReader}; the rules
     * are in docs/FORMAT.md); anything wrong is a {@link BadInputException} naming the file.
     */
    public static Manifest read(Path dir) throws BadInputException {
        return ManifestReader.read(dir);
    }
}
