package grokkit.checkpoint;

import grokkit.errors.BadInputException;
import grokkit.model.ParamNames;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of a {@code ckpt-0} directory: {@code tensor{i:05d}_000}, one per parameter, in
 * JAX's sorted-key flattening order ({@link ParamNames#checkpointOrder}). Finds them, and
 * checks that exactly the files of an n-layer model are there.
 */
final class CheckpointLayout {
    static final Pattern TENSOR_FILE = Pattern.compile("tensor(\\d{5})_(\\d{3})");
    static final int FILES_PER_LAYER = ParamNames.LAYER_PARAMS.size();
    static final int GLOBAL_FILES = 2;

    private CheckpointLayout() {}

    static String fileName(int index) {
        return String.format("tensor%05d_000", index);
    }

    /** The directory holding the tensor files: {@code dir} itself, or its {@code ckpt-0}. */
    static Path resolveDir(Path dir, List<String> notes) throws IOException {
        if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": no such checkpoint directory");
        if (listTensorFiles(dir).isEmpty() && Files.isDirectory(dir.resolve("ckpt-0"))) {
            notes.add("reading " + dir.resolve("ckpt-0") + " (the ckpt-0 directory inside " + dir + ")");
            return dir.resolve("ckpt-0");
        }
        return dir;
    }

    /** Tensor files by index; refuses multi-host files and duplicates. Other names are noted and ignored. */
    static TreeMap<Integer, Path> listTensorFiles(Path dir) throws IOException {
        return scan(dir, null);
    }

    static TreeMap<Integer, Path> scan(Path dir, List<String> notes) throws IOException {
        TreeMap<Integer, Path> files = new TreeMap<>();
        List<String> ignored = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries.sorted()::iterator) {
                String name = p.getFileName().toString();
                Matcher m = TENSOR_FILE.matcher(name);
                if (!m.matches()) {
                    ignored.add(name);
                    continue;
                }
                if (!m.group(2).equals("000"))
                    throw new BadInputException(p + ": host shard " + m.group(2) + " of a multi-host checkpoint; only single-host checkpoints (_000) are supported");
                files.put(Integer.parseInt(m.group(1)), p);
            }
        }
        if (notes != null && !ignored.isEmpty())
            notes.add("ignored " + ignored.size() + " file(s) that are not tensor files: "
                    + String.join(", ", ignored.subList(0, Math.min(5, ignored.size()))) + (ignored.size() > 5 ? ", ..." : ""));
        return files;
    }

    /**
     * The number of layers: {@code givenLayers} if the configuration sets it, else what the
     * file count implies. Then checks that exactly files 0 .. 2+12·layers-1 exist.
     */
    static int checkFiles(Path dir, TreeMap<Integer, Path> files, Integer givenLayers, List<String> notes) throws BadInputException {
        if (files.isEmpty()) throw new BadInputException(dir + ": no tensor files (tensor00000_000, ...) in this directory");
        int layers;
        if (givenLayers != null) {
            layers = givenLayers;
        } else {
            int count = Math.max(files.size(), files.lastKey() + 1);
            if (count < GLOBAL_FILES + FILES_PER_LAYER || (count - GLOBAL_FILES) % FILES_PER_LAYER != 0)
                throw new BadInputException(dir + ": " + files.size() + " tensor files (highest index " + files.lastKey()
                        + ") do not make a checkpoint, which has 2 + 12 x num_layers files; a file is missing or extra"
                        + " (give --model-config with num_layers to find out which)");
            layers = (count - GLOBAL_FILES) / FILES_PER_LAYER;
            notes.add("num_layers = " + layers + " (inferred from " + count + " tensor files = 2 + 12 x " + layers + ")");
        }
        int expected = GLOBAL_FILES + FILES_PER_LAYER * layers;
        List<String> names = ParamNames.checkpointOrder(layers);
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < expected; i++)
            if (!files.containsKey(i)) missing.add(fileName(i) + " (" + names.get(i) + ")");
        if (!missing.isEmpty())
            throw new BadInputException(dir + ": missing tensor file" + (missing.size() > 1 ? "s " : " ")
                    + String.join(", ", missing.subList(0, Math.min(5, missing.size()))) + (missing.size() > 5 ? ", ..." : "")
                    + " (a " + layers + "-layer checkpoint has " + expected + " files)");
        List<String> extra = new ArrayList<>();
        for (int i : files.tailMap(expected).keySet()) extra.add(files.get(i).getFileName().toString());
        if (!extra.isEmpty())
            throw new BadInputException(dir + ": unexpected extra tensor file" + (extra.size() > 1 ? "s " : " ")
                    + String.join(", ", extra.subList(0, Math.min(5, extra.size()))) + (extra.size() > 5 ? ", ..." : "")
                    + " (a " + layers + "-layer checkpoint has " + expected + " files, tensor00000_000 to " + fileName(expected - 1) + ")");
        return layers;
    }
}
