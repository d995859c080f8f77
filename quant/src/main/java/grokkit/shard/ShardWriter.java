package grokkit.shard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Writes one shard file front to back under a temporary name ({@code NAME.partial}) and renames
 * it to its final name only when complete ({@link #commit}), so a final shard name always
 * means a whole shard. Computes the CRC32C of each region as the bytes go by.
 */
public final class ShardWriter implements AutoCloseable {
    /** Opens the channel a shard is written to; tests inject failing channels (full disk). */
    @FunctionalInterface
    public interface ChannelOpener {
        WritableByteChannel open(Path file) throws IOException;
    }

    public static final ChannelOpener FILES = p -> FileChannel.open(p,
            StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);

    public static final String PARTIAL_SUFFIX = ".partial";
    private static final byte[] ZEROS = new byte[Manifest.ALIGNMENT * 16];

    private final Path target;
    private final Path tmp;
    private final WritableByteChannel channel;
    private long position;
    private CRC32C crc;
    private boolean done;

    public ShardWriter(Path target, ChannelOpener opener) throws IOException {
        this.target = target;
        this.tmp = target.resolveSibling(target.getFileName() + PARTIAL_SUFFIX);
        this.channel = opener.open(tmp);
    }

    public long position() {
        return position;
    }

    /** Writes zero bytes up to {@code offset} (alignment padding). */
    public void padTo(long offset) throws IOException {
        if (offset < position) throw new IllegalStateException("cannot pad backwards from " + position + " to " + offset);
        while (position < offset) {
            int n = (int) Math.min(ZEROS.length, offset - position);
            writeRaw(ZEROS, 0, n);
        }
    }

    /** Starts a region at the current position: its bytes are checksummed until {@link #endRegion}. */
    public void beginRegion() {
        crc = new CRC32C();
    }

    /** Ends the current region and returns its CRC32C. */
    public long endRegion() {
        long v = crc.getValue();
        crc = null;
        return v;
    }

    public void write(byte[] b, int off, int len) throws IOException {
        if (crc != null) crc.update(b, off, len);
        writeRaw(b, off, len);
    }

    /**
     * Appends {@code bytes.byteSize()} bytes that are also the file range
     * {@code [offset, offset + bytes.byteSize())} of {@code source}: the kernel copies them file to
     * file (FileChannel.transferTo: copy_file_range on Linux, no trip through user space), and
     * the checksum is taken from {@code bytes}, the caller's (mapped) view of the same range.
     */
    public void copyFrom(Path source, long offset, java.lang.foreign.MemorySegment bytes) throws IOException {
        long len = bytes.byteSize();
        if (crc != null) crc.update(bytes.asByteBuffer());
        try (FileChannel src = FileChannel.open(source, StandardOpenOption.READ)) {
            if (src.size() < offset + len) throw new IOException(source + ": shorter than " + (offset + len) + " bytes (changed during conversion?)");
            long done = 0;
            while (done < len) {
                long n = src.transferTo(offset + done, len - done, channel);
                if (n <= 0) throw new IOException(tmp + ": write made no progress (disk full?)");
                done += n;
            }
        }
        position += len;
    }

    private void writeRaw(byte[] b, int off, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        while (buf.hasRemaining()) {
            if (channel.write(buf) <= 0 && buf.hasRemaining()) throw new IOException(tmp + ": write made no progress (disk full?)");
        }
        position += len;
    }

    /** Closes the file and gives it its final name. */
    public void commit() throws IOException {
        channel.close();
        AtomicFiles.moveIntoPlace(tmp, target);
        done = true;
    }

    /** Closes and deletes the temporary file (after a failure); never throws. */
    @Override
    public void close() {
        if (done) return;
        done = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // the write already failed; the original error is what the user needs
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // best effort: a leftover .partial file is never mistaken for a shard
        }
    }
}
