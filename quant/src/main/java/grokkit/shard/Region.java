package grokkit.shard;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A byte range of a shard file and the CRC32C of its bytes (8 lowercase hex digits).
 *
 * @param offset byte offset in the shard, a multiple of {@link Manifest#ALIGNMENT}
 * @param length byte length
 * @param crc32c CRC32C ({@link java.util.zip.CRC32C}) of the bytes, hex
 */
public record Region(@JsonProperty("offset") long offset,
                     @JsonProperty("length") long length,
                     @JsonProperty("crc32c") String crc32c) {

    public long end() {
        return offset + length;
    }

    public static String hex(long crc) {
        return String.format("%08x", crc);
    }
}
