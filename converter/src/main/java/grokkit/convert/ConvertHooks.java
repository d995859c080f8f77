package grokkit.convert;

import grokkit.shard.ShardWriter;

import java.io.IOException;

/** Test seams of the converter: the channel shards are written to, and a call after each write. */
public interface ConvertHooks {
    ConvertHooks NONE = new ConvertHooks() {};

    /**
     * Opens shard files for writing (tests inject a channel that fails like a full disk):
     * {@code O_DIRECT} where the file system allows it, buffered with {@code -Dgrok.convert.direct=false}.
     */
    default ShardWriter.ChannelOpener channels() {
        return Boolean.parseBoolean(System.getProperty("grok.convert.direct", "true")) ? ShardWriter.DIRECT : ShardWriter.FILES;
    }

    /** Called after each tile is written to {@code shard}, at byte {@code position} (tests crash here). */
    default void afterWrite(String shard, long position) throws IOException {}
}
