package grokkit.pickle;

import grokkit.errors.BadInputException;

import java.nio.file.Path;

/**
 * A pickle this reader refuses: malformed, truncated, over a limit, or asking for something
 * outside the allow-list. The message names the file and the byte offset of the opcode.
 */
public final class PickleException extends BadInputException {
    private final transient Path file;
    private final long offset;

    public PickleException(Path file, long offset, String problem) {
        super(file + ": byte " + offset + ": " + problem);
        this.file = file;
        this.offset = offset;
    }

    /**
     * No stack trace: this is always a deliberate refusal of bad input, fully described by the
     * message, and hostile files can make many of them (the fuzz test makes 100k).
     */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }

    public Path file() {
        return file;
    }

    /** Byte offset of the opcode being executed when the problem was found. */
    public long offset() {
        return offset;
    }
}
