package grokkit.io;

import grokkit.errors.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Opening files the user names as inputs. Only regular files are read: a FIFO would block the
 * open forever and a device ({@code /dev/zero}) never ends, so the file type is checked from its
 * attributes before anything opens it. A symbolic link is followed (the target must be a regular
 * file); where a link must not leave a directory, the caller checks the real path.
 */
public final class InputFiles {
    private InputFiles() {}

    /** The input file checked last (named in an out-of-memory message: what was being read). */
    private static volatile Path lastRead;

    public static Path lastRead() {
        return lastRead;
    }

    /** The attributes of {@code file}, which must be a regular file; {@code what} prefixes the message (an option name, or ""). */
    public static BasicFileAttributes requireRegularFile(Path file, String what) throws BadInputException {
        String who = prefix(what) + file;
        lastRead = file;
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            boolean danglingLink = Files.isSymbolicLink(file);
            throw new BadInputException(who + (danglingLink ? ": a symbolic link to a missing file" : ": no such file"), e);
        } catch (IOException e) {
            throw new BadInputException(who + ": cannot read its attributes: " + e.getMessage(), e);
        }
        if (a.isDirectory()) throw new BadInputException(who + ": is a directory, expected a file");
        if (!a.isRegularFile()) {
            String kind = describeSpecial(file);
            throw new BadInputException(who + ": is " + kind + ", not a regular file (refused: reading it could block or never end)");
        }
        return a;
    }

    /**
     * All bytes of a regular file of at most {@code maxBytes} (the bound keeps a hostile or
     * mistaken input from exhausting the heap; the message says how large the file is).
     */
    public static byte[] readAll(Path file, String what, long maxBytes) throws BadInputException {
        BasicFileAttributes a = requireRegularFile(file, what);
        if (a.size() > maxBytes)
            throw new BadInputException(prefix(what) + file + ": " + a.size() + " bytes, more than the " + maxBytes + " this input may have");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            // Read at most maxBytes + 1: a file that grows after the check is caught, never read without bound.
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(maxBytes + 1, Math.max(a.size() + 1, 1)));
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) break;
                if (!buf.hasRemaining() && buf.capacity() <= maxBytes) buf = grow(buf, maxBytes);
            }
            if (buf.position() > maxBytes)
                throw new BadInputException(prefix(what) + file + ": grew past " + maxBytes + " bytes while being read");
            byte[] out = new byte[buf.position()];
            buf.flip().get(out);
            return out;
        } catch (BadInputException e) {
            throw e;
        } catch (IOException e) {
            throw new BadInputException(prefix(what) + file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    private static ByteBuffer grow(ByteBuffer buf, long maxBytes) {
        int cap = (int) Math.min(maxBytes + 1, Math.min((long) buf.capacity() * 2, Integer.MAX_VALUE - 8));
        ByteBuffer bigger = ByteBuffer.allocate(cap);
        buf.flip();
        bigger.put(buf);
        return bigger;
    }

    /** A regular file's text, which must be valid UTF-8 (malformed bytes are refused, not replaced). */
    public static String readUtf8(Path file, String what, long maxBytes) throws BadInputException {
        byte[] bytes = readAll(file, what, maxBytes);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(prefix(what) + file + ": not valid UTF-8 text (" + e.getMessage() + ")", e);
        }
    }

    /** A stream over a regular file (checked first, so a FIFO is never opened). */
    public static InputStream open(Path file, String what) throws BadInputException {
        requireRegularFile(file, what);
        try {
            return Files.newInputStream(file);
        } catch (IOException e) {
            throw new BadInputException(prefix(what) + file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    private static String describeSpecial(Path file) {
        try {
            BasicFileAttributes own = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            String link = own.isSymbolicLink() ? "a symbolic link to " : "";
            Object mode = Files.getAttribute(file, "unix:mode");
            if (mode instanceof Integer m) {
                String kind = switch (m & 0170000) {
                    case 0010000 -> "a FIFO (named pipe)";
                    case 0020000 -> "a character device";
                    case 0060000 -> "a block device";
                    case 0140000 -> "a socket";
                    default -> "a special file";
                };
                return link + kind;
            }
            return link + "a special file";
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a special file";
        }
    }

    static String prefix(String what) {
        return what == null || what.isEmpty() ? "" : what + " ";
    }
}
