package grokkit.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes numpy {@code .npy} files (format version 1.0). The one place the CLI writes .npy;
 * to be replaced by {@code grokkit.io.Npy} when that lands in quant.
 */
final class NpyFiles {
    private NpyFiles() {}

    /**
     * Writes {@code rows} as a float32 {@code [rows.length, width]} array, little-endian {@code <f4},
     * C order. Writes to a temporary file next to {@code out} and renames it, so a failure never
     * leaves a half-written file under the final name.
     */
    static void writeFloat32(Path out, float[][] rows) throws IOException {
        int width = rows.length == 0 ? 0 : rows[0].length;
        for (float[] r : rows) if (r.length != width) throw new IllegalArgumentException("ragged rows");
        byte[] header = header("<f4", rows.length + ", " + width);
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, ByteBuffer.wrap(header));
                ByteBuffer buf = ByteBuffer.allocate(Math.max(4, width * 4)).order(ByteOrder.LITTLE_ENDIAN);
                for (float[] r : rows) {
                    buf.clear();
                    buf.asFloatBuffer().put(r);
                    buf.limit(width * 4);
                    writeFully(ch, buf);
                }
                ch.force(true);
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Magic, version 1.0, header length, and the dict padded with spaces to a 64-byte boundary. */
    static byte[] header(String descr, String shapeInside) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shapeInside + "), }";
        int unpadded = 10 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String text = dict + " ".repeat(padding) + "\n";
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(10 + t.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) t.length).put(t);
        return b.array();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
