package grokkit.shard;

import grokkit.errors.BadInputException;
import grokkit.io.InputFiles;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The files a manifest names (shards, the tokenizer) are plain file names inside the model
 * directory: no separators, no {@code ..}, not absolute, and, where one is a symbolic link, its
 * target must still lie inside the directory. A manifest cannot make the runtime read anything
 * outside the directory it was given.
 */
public final class ModelFiles {
    private ModelFiles() {}

    /** Null if {@code name} is an acceptable plain file name, else what is wrong with it. */
    static String nameProblem(String name) {
        if (name.isEmpty()) return "is empty";
        if (name.equals(".") || name.equals("..")) return "is '" + name + "', not a file name";
        if (name.indexOf('/') >= 0 || name.indexOf('\\') >= 0) return "contains a path separator (only plain file names inside the model directory)";
        for (int i = 0; i < name.length(); i++) if (name.charAt(i) < 0x20) return "contains a control character";
        if (name.length() > 255) return "is longer than 255 characters";
        return null;
    }

    /**
     * {@code dir/name}, which must be a regular file whose real path lies inside {@code dir}'s
     * real path; {@code what} says what the manifest uses it for.
     */
    public static Path inside(Path dir, String name, String what) throws BadInputException {
        String problem = nameProblem(name);
        if (problem != null) throw new InvalidManifestException(dir.resolve(Manifest.FILE_NAME) + ": " + what + " '" + name + "' " + problem);
        Path file = dir.resolve(name);
        InputFiles.requireRegularFile(file, what);
        try {
            Path realDir = dir.toRealPath(), real = file.toRealPath();
            if (!real.startsWith(realDir) || real.equals(realDir))
                throw new InvalidManifestException(file + ": " + what + " is a symbolic link to " + real + ", outside the model directory " + realDir);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot resolve " + what + ": " + e.getMessage(), e);
        }
        return file;
    }
}
