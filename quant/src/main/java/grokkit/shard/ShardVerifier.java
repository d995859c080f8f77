package grokkit.shard;

import grokkit.io.MappedFiles;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Re-reads a shard and checks it against its manifest records: exact file length, region
 * alignment and bounds, no overlaps, the CRC32C of every region, and zero padding between
 * regions. Every problem names the tensor it touches. Used by {@code grok check} and by the
 * converter's {@code --resume}.
 */
public final class ShardVerifier {
    private ShardVerifier() {}

    /** Problems found in {@code file} (empty if it verifies). */
    public static List<String> verify(Path file, long expectedBytes, List<TensorRecord> records) {
        return verify(file, expectedBytes, records, n -> { });
    }

    /** As {@link #verify(Path, long, List)}, telling {@code bytesRead} each run of region bytes checksummed (progress). */
    public static List<String> verify(Path file, long expectedBytes, List<TensorRecord> records, java.util.function.LongConsumer bytesRead) {
        List<String> problems = new ArrayList<>();
        String name = file.getFileName().toString();
        if (!Files.isRegularFile(file)) {
            problems.add(name + ": missing (holds " + labels(records) + ")");
            return problems;
        }
        boolean mapped = false;
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size != expectedBytes) problems.add(name + ": " + size + " bytes, manifest says " + expectedBytes);
            MemorySegment seg = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            MappedFiles.mapped(file, size);
            mapped = true;
            List<Located> regions = new ArrayList<>();
            for (TensorRecord t : records) {
                regions.add(new Located(t, "weights", t.weights()));
                if (t.scales() != null) regions.add(new Located(t, "scales", t.scales()));
            }
            regions.sort(Comparator.comparingLong(l -> l.region.offset()));
            long prevEnd = 0;
            Located prev = null;
            for (Located l : regions) {
                Region r = l.region;
                String what = name + ": " + l.record.label() + " " + l.part;
                if (r.offset() % Manifest.ALIGNMENT != 0) problems.add(what + " at offset " + r.offset() + " is not " + Manifest.ALIGNMENT + "-byte aligned");
                if (r.offset() < prevEnd) problems.add(what + " overlaps " + prev.record.label() + " " + prev.part);
                if (r.offset() < 0 || r.length() < 0 || r.end() > size) {
                    problems.add(what + " [" + r.offset() + ", " + r.end() + ") lies outside the file (" + size + " bytes)");
                    continue;
                }
                long gapStart = Math.max(prevEnd, 0);
                for (long p = gapStart; p < r.offset(); p++) {
                    if (seg.get(ValueLayout.JAVA_BYTE, p) != 0) {
                        problems.add(name + ": non-zero padding byte at offset " + p + " before " + l.record.label() + " " + l.part);
                        break;
                    }
                }
                String crc = Region.hex(crc32c(seg, r.offset(), r.length(), bytesRead));
                if (!crc.equals(r.crc32c()))
                    problems.add(what + ": CRC32C mismatch (file " + crc + ", manifest " + r.crc32c() + "): the tensor's bytes are corrupted");
                prevEnd = Math.max(prevEnd, r.end());
                prev = l;
            }
            if (prevEnd < size) problems.add(name + ": " + (size - prevEnd) + " unexpected bytes after the last region");
        } catch (IOException e) {
            problems.add(name + ": cannot be read: " + e.getMessage() + " (holds " + labels(records) + ")");
        } finally {
            if (mapped) MappedFiles.unmapped(file);
        }
        return problems;
    }

    /** CRC32C of {@code length} bytes of {@code seg} from {@code offset}. */
    public static long crc32c(MemorySegment seg, long offset, long length) {
        return crc32c(seg, offset, length, n -> { });
    }

    /** As {@link #crc32c(MemorySegment, long, long)}, telling {@code bytesRead} after each 64 MiB (a Grok-1 expert tensor is GBs). */
    static long crc32c(MemorySegment seg, long offset, long length, java.util.function.LongConsumer bytesRead) {
        CRC32C crc = new CRC32C();
        long chunk = 64L << 20;
        for (long p = 0; p < length; p += chunk) {
            long n = Math.min(chunk, length - p);
            crc.update(seg.asSlice(offset + p, n).asByteBuffer());
            bytesRead.accept(n);
        }
        return crc.getValue();
    }

    private record Located(TensorRecord record, String part, Region region) {}

    private static String labels(List<TensorRecord> records) {
        List<String> l = records.stream().map(TensorRecord::label).limit(4).toList();
        return String.join(", ", l) + (records.size() > 4 ? ", … (" + records.size() + " tensors)" : "");
    }
}
