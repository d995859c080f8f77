package grokkit.shard;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * Writes one shard file front to back under a temporary name ({@code NAME.partial}) and renames
 * it to its final name only when complete ({@link #commit}), so a final shard name always
 * means a whole shard. Computes the CRC32C of each region as the bytes go by.
 *
 * <p>How it writes: bytes are gathered into a few reused, block-aligned direct buffers of
 * {@link #CHUNK} bytes, and a full buffer is written by the writer's own I/O thread while the
 * caller fills the next one, so the disk works while the caller computes. Direct buffers
 * mean no hidden copy into a temporary one inside the JDK, and block-aligned chunks let a
 * {@link DirectChannel} ({@code O_DIRECT}, the default {@link #DIRECT}) bypass the page cache:
 * its last block is padded with zeros and the file then truncated to its true length.
 */
public final class ShardWriter implements AutoCloseable {
    /** Opens the channel a shard is written to; tests inject failing channels (full disk). */
    @FunctionalInterface
    public interface ChannelOpener {
        WritableByteChannel open(Path file) throws IOException;
    }

    /** Buffered writes through the page cache. */
    public static final ChannelOpener FILES = p -> FileChannel.open(p,
            StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);

    /** {@code O_DIRECT} writes where the file system allows them, else buffered ones ({@link DirectChannel}). */
    public static final ChannelOpener DIRECT = DirectChannel::open;

    public static final String PARTIAL_SUFFIX = ".partial";
    /** Bytes per write: large enough that a write's fixed cost (and the disk's) is amortised. */
    static final int CHUNK = 8 << 20;
    /** Bytes copied and then checksummed at a time: the checksum reads them from L2, not memory. */
    private static final int PIECE = 128 << 10;
    /** Staging buffers: one being filled, the others queued for or under write. */
    private static final int BUFFERS = 3;

    private final Path target;
    private final Path tmp;
    private final WritableByteChannel channel;
    private final int chunk;
    /** The I/O thread: writes full buffers in order, one at a time. */
    private final ExecutorService io;
    /** Written (or being written) buffers, oldest first; each future hands its buffer back, cleared. */
    private final ArrayDeque<Future<ByteBuffer>> pending = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int allocated;
    private ByteBuffer buf;
    private long position;
    private CRC32C crc;
    private boolean done;

    public ShardWriter(Path target, ChannelOpener opener) throws IOException {
        this(target, opener, CHUNK);
    }

    /** {@code chunk}: staging buffer size, a multiple of {@link DirectChannel#BLOCK} (tests use small ones). */
    ShardWriter(Path target, ChannelOpener opener, int chunk) throws IOException {
        if (chunk <= 0 || chunk % DirectChannel.BLOCK != 0) throw new IllegalArgumentException("chunk " + chunk);
        this.target = target;
        this.tmp = target.resolveSibling(target.getFileName() + PARTIAL_SUFFIX);
        this.chunk = chunk;
        this.channel = opener.open(tmp);
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "shard-io");
            t.setDaemon(true);
            return t;
        });
        this.buf = takeBuffer();
    }

    public long position() {
        return position;
    }

    /** Whether this shard's bytes bypass the page cache ({@code O_DIRECT}). */
    public boolean direct() {
        return channel instanceof DirectChannel d && d.direct();
    }

    /** Writes zero bytes up to {@code offset} (alignment padding). */
    public void padTo(long offset) throws IOException {
        if (offset < position) throw new IllegalStateException("cannot pad backwards from " + position + " to " + offset);
        while (position < offset) {
            int n = (int) Math.min(buf.remaining(), offset - position);
            // Buffers are not zeroed on reuse: put the zeros explicitly.
            int at = buf.position();
            MemorySegment.ofBuffer(buf).asSlice(0, n).fill((byte) 0);
            buf.position(at + n);
            advance(n);
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
        while (len > 0) {
            int n = Math.min(Math.min(buf.remaining(), len), PIECE);
            buf.put(b, off, n);
            if (crc != null) crc.update(b, off, n); // while the piece is still in cache
            off += n;
            len -= n;
            advance(n);
        }
    }

    /**
     * Appends {@code bytes.byteSize()} bytes that are also the file range
     * {@code [offset, offset + bytes.byteSize())} of {@code source}. With {@code O_DIRECT} they are
     * copied from {@code bytes} (the caller's mapped view of that range) into the staging buffers
     * like any other bytes. Otherwise the kernel copies them file to file
     * ({@code FileChannel.transferTo}: {@code copy_file_range} on Linux, no trip through user
     * space). Either way the checksum is taken from {@code bytes}.
     */
    public void copyFrom(Path source, long offset, MemorySegment bytes) throws IOException {
        long len = bytes.byteSize();
        if (direct()) {
            for (long done = 0; done < len; ) {
                int n = (int) Math.min(Math.min(buf.remaining(), len - done), PIECE);
                MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, done, MemorySegment.ofBuffer(buf), ValueLayout.JAVA_BYTE, 0, n);
                if (crc != null) crc.update(bytes.asSlice(done, n).asByteBuffer()); // while the piece is still in cache
                buf.position(buf.position() + n);
                done += n;
                advance(n);
            }
            return;
        }
        if (crc != null) crc.update(bytes.asByteBuffer());
        drain(); // the file must hold every earlier byte before the kernel appends to it
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

    /** Counts {@code n} bytes just put into {@code buf}; hands the buffer to the I/O thread when full. */
    private void advance(int n) throws IOException {
        position += n;
        if (!buf.hasRemaining()) {
            ByteBuffer full = buf.flip();
            pending.add(io.submit(() -> writeFully(full)));
            buf = takeBuffer();
        }
    }

    /** A cleared staging buffer: a new one while fewer than {@link #BUFFERS} exist, else the oldest once written. */
    private ByteBuffer takeBuffer() throws IOException {
        if (!free.isEmpty()) return free.poll();
        if (allocated < BUFFERS) {
            allocated++;
            return ByteBuffer.allocateDirect(chunk + DirectChannel.BLOCK).alignedSlice(DirectChannel.BLOCK).limit(chunk);
        }
        return await(pending.poll());
    }

    /** Waits until every handed-over buffer is written, then writes out the partly filled one. */
    private void drain() throws IOException {
        while (!pending.isEmpty()) free.add(await(pending.poll()));
        if (buf.position() > 0) writeFully(buf.flip());
    }

    private ByteBuffer writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.write(b) <= 0 && b.hasRemaining()) throw new IOException(tmp + ": write made no progress (disk full?)");
        }
        return b.clear().limit(chunk);
    }

    private static ByteBuffer await(Future<ByteBuffer> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IOException(e.getCause());
        }
    }

    /** Writes what is left, closes the file and gives it its final name. */
    public void commit() throws IOException {
        while (!pending.isEmpty()) free.add(await(pending.poll()));
        boolean padded = false;
        if (buf.position() > 0 && direct()) {
            // O_DIRECT writes whole blocks: pad the last one with zeros, then cut the file back.
            int end = buf.position(), full = (end + DirectChannel.BLOCK - 1) / DirectChannel.BLOCK * DirectChannel.BLOCK;
            MemorySegment.ofBuffer(buf).asSlice(0, full - end).fill((byte) 0);
            buf.position(full);
            padded = true;
        }
        if (buf.position() > 0) writeFully(buf.flip());
        if (padded) ((DirectChannel) channel).truncate(position);
        io.shutdown();
        channel.close();
        AtomicFiles.moveIntoPlace(tmp, target);
        done = true;
    }

    /** Closes and deletes the temporary file (after a failure); never throws. */
    @Override
    public void close() {
        io.shutdownNow();
        if (done) return;
        done = true;
        try {
            io.awaitTermination(10, TimeUnit.SECONDS); // let a write under way end before the file goes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
