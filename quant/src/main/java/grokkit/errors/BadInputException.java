package grokkit.errors;

import java.io.IOException;

/**
 * Input the user gave us is wrong: a missing, truncated, hostile or inconsistent file, a bad
 * option value. The message must name the file (or option) and say what is wrong; the CLI
 * prints it and exits with {@link ExitCodes#BAD_INPUT}.
 */
public class BadInputException extends IOException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
