package grokkit.io;

import grokkit.errors.BadInputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Writing an output file the user named ({@code --out}, {@code --json}, {@code --report}): the
 * bytes go to a sibling temporary name and are renamed over the target when complete, so a
 * failure never leaves a half-written file under the final name. Only a regular file (or
 * nothing) is ever replaced: a rename over {@code /dev/null} or a FIFO would replace the
 * device node or pipe with a regular file, and a rename over a symbolic link replaces the link,
 * not its target, so each is refused. Every failure, a full disk included, names the file.
 */
public final class OutputFiles {
    private OutputFiles() {}

    /** Writes the file's content into an open channel. */
    public interface Content {
        void writeTo(FileChannel ch) throws IOException;
    }

    /** Opens the temporary file; tests substitute one that fails like a full disk. */
    public interface Opener {
        FileChannel open(Path file, OpenOption... options) throws IOException;
    }

    private static volatile Opener opener = FileChannel::open;

    /** For tests: the channel opener every output uses (restore with {@link #useOpener}(null)). */
    public static void useOpener(Opener o) {
        opener = o == null ? FileChannel::open : o;
    }

    /** Refuses {@code target} unless it is absent or a regular file; {@code what} names the option ("--out"). */
    public static void checkReplaceable(Path target, String what) throws BadInputException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new BadInputException(InputFiles.prefix(what) + target + ": cannot inspect the output path: " + e.getMessage(), e);
        }
        if (a.isRegularFile()) return;
        String kind = a.isDirectory() ? "a directory" : a.isSymbolicLink() ? "a symbolic link (name its target instead)" : "not a regular file (a device, FIFO or socket)";
        throw new BadInputException(InputFiles.prefix(what) + target + ": is " + kind + "; refusing to replace it with the output");
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, String what, byte[] bytes) throws BadInputException {
        write(target, what, ch -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
        });
    }

    /** Writes {@code content} to {@code target} through a sibling temporary file and a rename. */
    public static void write(Path target, String what, Content content) throws BadInputException {
        checkReplaceable(target, what);
        Path abs = target.toAbsolutePath();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".tmp");
        String who = InputFiles.prefix(what) + target;
        try {
            Path dir = abs.getParent();
            if (dir != null) Files.createDirectories(dir);
            // A sibling name, not createTempFile (whose 0600 mode would stick to the output).
            try (FileChannel ch = opener.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                content.writeTo(ch);
                ch.force(true);
            }
            checkReplaceable(target, what); // it may have appeared meanwhile
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (BadInputException e) {
            throw e;
        } catch (FileAlreadyExistsException e) {
            throw new BadInputException(who + ": cannot write (" + e.getFile() + " exists and is in the way)", e);
        } catch (IOException e) {
            throw new BadInputException(who + ": cannot write: " + (e.getMessage() == null ? e.toString() : e.getMessage()), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: the write itself already failed or succeeded and says so
            }
        }
    }
}
