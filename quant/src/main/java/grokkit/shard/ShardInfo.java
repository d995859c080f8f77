package grokkit.shard;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A shard file of the model directory and its exact length in bytes. */
public record ShardInfo(@JsonProperty("file") String file, @JsonProperty("bytes") long bytes) {}
