package grokkit.shard;

import com.sun.nio.file.ExtendedOpenOption;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A shard file written with {@code O_DIRECT}: the disk reads the bytes straight from the
 * caller's buffer, so a write costs no copy into the page cache and leaves no dirty pages for
 * the kernel to write back later (which is most of what a buffered {@code write(2)} costs).
 *
 * <p>Every write must come from a block-aligned direct buffer, start at a block-aligned file
 * position and have a length that is a multiple of {@link #BLOCK} ({@link ShardWriter} pads the
 * last one and then {@link #truncate}s the file to its true length). File systems that refuse
 * {@code O_DIRECT} (at open, or with {@code EINVAL} on the first write) get ordinary buffered
 * writes instead: {@link #open} returns a plain channel, or the channel reopens itself buffered
 * at the same position and goes on ({@link #direct()} then says false).
 */
public final class DirectChannel implements WritableByteChannel {
    /** Alignment of buffers, positions and lengths: the largest logical block size in common use. */
    public static final int BLOCK = 4096;

    /** Opens a file channel; tests substitute one that refuses O_DIRECT writes. */
    @FunctionalInterface
    public interface FileOpener {
        FileChannel open(Path file, OpenOption... options) throws IOException;
    }

    private static final OpenOption[] CREATE = {StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE};

    private final Path file;
    private final FileOpener opener;
    private FileChannel channel;
    private volatile boolean direct = true;
    /** Whether a direct write has succeeded (after that only EINVAL means "O_DIRECT refused"). */
    private boolean wrote;

    private DirectChannel(Path file, FileOpener opener, FileChannel channel) {
        this.file = file;
        this.opener = opener;
        this.channel = channel;
    }

    /** {@code file} created (truncated) for direct writes, or for buffered ones where O_DIRECT is refused. */
    public static WritableByteChannel open(Path file) throws IOException {
        return open(file, FileChannel::open);
    }

    static WritableByteChannel open(Path file, FileOpener opener) throws IOException {
        FileChannel ch;
        try {
            ch = opener.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE,
                    ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return opener.open(file, CREATE); // e.g. a file system without O_DIRECT: buffered writes
        }
        return new DirectChannel(file, opener, ch);
    }

    /** Whether writes still bypass the page cache (false once the file system refused them). */
    public boolean direct() {
        return direct;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!direct) return channel.write(src);
        try {
            int n = channel.write(src);
            wrote = true;
            return n;
        } catch (ClosedChannelException e) {
            throw e; // interrupted or closed: not the file system's answer
        } catch (IOException e) {
            // EINVAL is how Linux refuses O_DIRECT; the message is localised, so any failure of
            // the first write also counts (a real error, e.g. a full disk, recurs buffered below).
            if (wrote && !refused(e)) throw e;
        }
        // Opened with O_DIRECT but the file system refuses the writes: go on buffered, same file, same place.
        long at = channel.position();
        channel.close();
        channel = opener.open(file, StandardOpenOption.WRITE);
        channel.position(at);
        direct = false;
        return channel.write(src);
    }

    private static boolean refused(IOException e) {
        return e.getMessage() != null && e.getMessage().contains("Invalid argument");
    }

    /** Cuts the file to {@code size} bytes (after a padded last block). */
    public void truncate(long size) throws IOException {
        channel.truncate(size);
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
