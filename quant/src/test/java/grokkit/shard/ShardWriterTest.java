package grokkit.shard;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The shard write path: O_DIRECT and buffered writes give the same bytes for any mix of region
 * sizes, padding, kernel copies and unaligned tails; O_DIRECT that the file system refuses falls
 * back to buffered writes; write failures on the I/O thread reach the caller and leave no file.
 */
class ShardWriterTest {
    /** A small staging chunk so that a few KiB of writes cross many chunk boundaries. */
    private static final int CHUNK = 2 * DirectChannel.BLOCK;

    @TempDir
    Path tmp;

    /** What one scripted shard should contain, and its region CRCs. */
    private record Expected(byte[] bytes, List<Long> crcs) {}

    /**
     * Writes a random script of pads, regions (written from arrays, or copied from {@code source})
     * through {@code opener}; returns the bytes and CRCs the file must have.
     */
    private Expected script(long seed, Path target, ShardWriter.ChannelOpener opener, Path source, byte[] sourceBytes) throws IOException {
        Random r = new Random(seed);
        java.io.ByteArrayOutputStream want = new java.io.ByteArrayOutputStream();
        List<Long> crcs = new java.util.ArrayList<>();
        try (Arena arena = Arena.ofConfined(); FileChannel src = FileChannel.open(source);
             ShardWriter w = new ShardWriter(target, opener, CHUNK)) {
            MemorySegment mapped = src.map(FileChannel.MapMode.READ_ONLY, 0, sourceBytes.length, arena);
            for (int k = 0; k < 12; k++) {
                long pad = (want.size() + 63) / 64 * 64 + 64L * r.nextInt(3);
                w.padTo(pad);
                while (want.size() < pad) want.write(0);
                w.beginRegion();
                CRC32C crc = new CRC32C();
                int parts = 1 + r.nextInt(3);
                for (int p = 0; p < parts; p++) {
                    int len = r.nextInt(3 * CHUNK);
                    if (r.nextBoolean()) {
                        byte[] b = new byte[len + 5];
                        r.nextBytes(b);
                        w.write(b, 3, len);
                        want.write(b, 3, len);
                        crc.update(b, 3, len);
                    } else {
                        int off = r.nextInt(sourceBytes.length - len);
                        w.copyFrom(source, off, mapped.asSlice(off, len));
                        want.write(sourceBytes, off, len);
                        crc.update(sourceBytes, off, len);
                    }
                }
                long got = w.endRegion();
                assertThat(got).isEqualTo(crc.getValue());
                crcs.add(got);
            }
            // an unaligned tail (never a multiple of the block size)
            byte[] tail = new byte[1 + r.nextInt(DirectChannel.BLOCK - 1)];
            r.nextBytes(tail);
            w.write(tail, 0, tail.length);
            want.write(tail);
            assertThat(w.position()).isEqualTo(want.size());
            w.commit();
        }
        return new Expected(want.toByteArray(), crcs);
    }

    private Path source(byte[] bytes) throws IOException {
        return Files.write(tmp.resolve("source.bin"), bytes);
    }

    @Test
    void directAndBufferedWritesGiveTheSameBytes() throws IOException {
        byte[] sb = new byte[5 * CHUNK + 123];
        new Random(1).nextBytes(sb);
        Path source = source(sb);
        for (long seed = 0; seed < 8; seed++) {
            Path a = tmp.resolve("direct-" + seed + ".bin"), b = tmp.resolve("buffered-" + seed + ".bin");
            Expected ea = script(seed, a, ShardWriter.DIRECT, source, sb);
            Expected eb = script(seed, b, ShardWriter.FILES, source, sb);
            assertThat(Files.readAllBytes(a)).as("seed %d direct", seed).isEqualTo(ea.bytes());
            assertThat(Files.readAllBytes(b)).as("seed %d buffered", seed).isEqualTo(eb.bytes());
            assertThat(ea.crcs()).isEqualTo(eb.crcs());
            assertThat(tmp.resolve(a.getFileName() + ShardWriter.PARTIAL_SUFFIX)).doesNotExist();
        }
    }

    @Test
    void exactlyChunkSizedAndEmptyShards() throws IOException {
        for (int n : new int[] {0, 1, DirectChannel.BLOCK, CHUNK, 2 * CHUNK, 2 * CHUNK + 1}) {
            byte[] b = new byte[n];
            new Random(n).nextBytes(b);
            Path p = tmp.resolve("n" + n);
            try (ShardWriter w = new ShardWriter(p, ShardWriter.DIRECT, CHUNK)) {
                w.write(b, 0, n);
                w.commit();
            }
            assertThat(Files.readAllBytes(p)).as("%d bytes", n).isEqualTo(b);
        }
    }

    @Test
    void directIsUsedWhereTheFileSystemAllowsIt() throws IOException {
        Path p = tmp.resolve("probe");
        try (ShardWriter w = new ShardWriter(p, ShardWriter.DIRECT, CHUNK)) {
            // Not asserted true: some file systems (older tmpfs, some network ones) refuse O_DIRECT.
            System.out.println("O_DIRECT on " + Files.getFileStore(tmp) + ": " + w.direct());
            w.commit();
        }
        try (ShardWriter w = new ShardWriter(tmp.resolve("plain"), ShardWriter.FILES, CHUNK)) {
            assertThat(w.direct()).isFalse();
            w.commit();
        }
    }

    @Test
    void directRefusedAtOpenFallsBackToBuffered() throws IOException {
        DirectChannel.FileOpener refusing = (file, options) -> {
            if (Set.of(options).contains(com.sun.nio.file.ExtendedOpenOption.DIRECT)) throw new IOException("Invalid argument");
            return FileChannel.open(file, options);
        };
        byte[] b = bytes(3 * CHUNK + 77);
        Path p = tmp.resolve("refused-open");
        try (ShardWriter w = new ShardWriter(p, f -> DirectChannel.open(f, refusing), CHUNK)) {
            assertThat(w.direct()).isFalse();
            w.write(b, 0, b.length);
            w.commit();
        }
        assertThat(Files.readAllBytes(p)).isEqualTo(b);
    }

    @Test
    void directRefusedOnWriteFallsBackAtTheSamePlace() throws IOException {
        // Opens "with O_DIRECT" (really without), then refuses writes like a file system that
        // accepts the flag but not the I/O: the channel must reopen buffered and lose nothing.
        DirectChannel.FileOpener refusingWrites = (file, options) -> {
            boolean direct = Set.of(options).contains(com.sun.nio.file.ExtendedOpenOption.DIRECT);
            FileChannel real = FileChannel.open(file, Arrays.stream(options).filter(o -> o != com.sun.nio.file.ExtendedOpenOption.DIRECT).toArray(OpenOption[]::new));
            return direct ? new RefusingChannel(real) : real;
        };
        DirectChannel.FileOpener refusingOtherwise = (file, options) -> {
            FileChannel c = refusingWrites.open(file, options);
            return c instanceof RefusingChannel r ? new RefusingChannel(r.inner, "Ungültiges Argument") : c;
        };
        for (int n : new int[] {10, CHUNK + 10, 3 * CHUNK, -10}) { // -10: 10 bytes, a localised message
            DirectChannel.FileOpener opener = n < 0 ? refusingOtherwise : refusingWrites;
            n = Math.abs(n);
            byte[] b = bytes(n);
            Path p = tmp.resolve("refused-write-" + n + (opener == refusingWrites ? "" : "-localised"));
            try (ShardWriter w = new ShardWriter(p, f -> DirectChannel.open(f, opener), CHUNK)) {
                assertThat(w.direct()).isTrue();
                w.write(b, 0, b.length);
                w.commit();
                assertThat(w.direct()).isFalse();
            }
            assertThat(Files.readAllBytes(p)).as("%d bytes", n).isEqualTo(b);
        }
    }

    @Test
    void failedBackgroundWriteReachesTheCallerAndLeavesNoFile() {
        Path p = tmp.resolve("full");
        long[] budget = {CHUNK + 100};
        ShardWriter.ChannelOpener fullDisk = f -> {
            WritableByteChannel inner = ShardWriter.DIRECT.open(f);
            return new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    if (budget[0] < src.remaining()) throw new IOException("No space left on device");
                    budget[0] -= src.remaining();
                    return inner.write(src);
                }

                @Override public boolean isOpen() { return inner.isOpen(); }
                @Override public void close() throws IOException { inner.close(); }
            };
        };
        byte[] b = bytes(CHUNK);
        assertThatThrownBy(() -> {
            try (ShardWriter w = new ShardWriter(p, fullDisk, CHUNK)) {
                for (int i = 0; i < 10; i++) w.write(b, 0, b.length);
                w.commit();
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("No space left");
        assertThat(p).doesNotExist();
        assertThat(tmp.resolve("full" + ShardWriter.PARTIAL_SUFFIX)).doesNotExist();
    }

    @Test
    void aFullDiskIsNotMistakenForRefusedDirectIo() {
        // Both the direct channel and its buffered replacement fail: the error must surface.
        DirectChannel.FileOpener full = (file, options) -> new RefusingChannel(FileChannel.open(file,
                Arrays.stream(options).filter(o -> o != com.sun.nio.file.ExtendedOpenOption.DIRECT).toArray(OpenOption[]::new)),
                "No space left on device");
        Path p = tmp.resolve("full-direct");
        assertThatThrownBy(() -> {
            try (ShardWriter w = new ShardWriter(p, f -> DirectChannel.open(f, full), CHUNK)) {
                w.write(bytes(3 * CHUNK), 0, 3 * CHUNK);
                w.commit();
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("No space left");
        assertThat(p).doesNotExist();
        assertThat(tmp.resolve("full-direct" + ShardWriter.PARTIAL_SUFFIX)).doesNotExist();
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    /** A file channel whose writes fail with EINVAL's message (what O_DIRECT on an unwilling file system gives). */
    private static final class RefusingChannel extends FileChannel {
        private final FileChannel inner;
        private final String message;

        RefusingChannel(FileChannel inner) {
            this(inner, "Invalid argument");
        }

        RefusingChannel(FileChannel inner, String message) {
            this.inner = inner;
            this.message = message;
        }

        @Override public int write(ByteBuffer src) throws IOException { throw new IOException(message); }
        @Override public long write(ByteBuffer[] srcs, int offset, int length) throws IOException { throw new IOException("Invalid argument"); }
        @Override public int write(ByteBuffer src, long position) throws IOException { throw new IOException("Invalid argument"); }
        @Override public int read(ByteBuffer dst) throws IOException { return inner.read(dst); }
        @Override public long read(ByteBuffer[] dsts, int offset, int length) throws IOException { return inner.read(dsts, offset, length); }
        @Override public int read(ByteBuffer dst, long position) throws IOException { return inner.read(dst, position); }
        @Override public long position() throws IOException { return inner.position(); }
        @Override public FileChannel position(long p) throws IOException { inner.position(p); return this; }
        @Override public long size() throws IOException { return inner.size(); }
        @Override public FileChannel truncate(long size) throws IOException { inner.truncate(size); return this; }
        @Override public void force(boolean metaData) throws IOException { inner.force(metaData); }
        @Override public long transferTo(long position, long count, WritableByteChannel target) { throw new UncheckedIOException(new IOException("Invalid argument")); }
        @Override public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException { throw new IOException("Invalid argument"); }
        @Override public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException { return inner.map(mode, position, size); }
        @Override public FileLock lock(long position, long size, boolean shared) throws IOException { return inner.lock(position, size, shared); }
        @Override public FileLock tryLock(long position, long size, boolean shared) throws IOException { return inner.tryLock(position, size, shared); }
        @Override protected void implCloseChannel() throws IOException { inner.close(); }
    }
}
