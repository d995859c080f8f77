package grokkit.shard;

import grokkit.errors.BadInputException;

/**
 * A {@code manifest.json} that {@link ManifestReader} refuses: the message names the file, the
 * JSON path of the offending value and what is wrong. A {@link BadInputException} (exit 2).
 */
public final class InvalidManifestException extends BadInputException {
    public InvalidManifestException(String message) {
        super(message);
    }

    public InvalidManifestException(String message, Throwable cause) {
        super(message, cause);
    }
}
