package grokkit.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Lines of a tokenizer golden file: {"text", "ids", "pieces", "decoded"} per line. */
record GoldenFile(List<Line> lines) {
    record Line(int number, String text, int[] ids, List<String> pieces, String decoded) {}

    static GoldenFile read(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Line> lines = new ArrayList<>();
        int number = 0;
        for (String raw : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            number++;
            if (raw.isBlank()) {
                continue;
            }
            JsonNode n = json.readTree(raw);
            int[] ids = new int[n.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = n.get("ids").get(i).asInt();
            }
            List<String> pieces = new ArrayList<>();
            n.get("pieces").forEach(p -> pieces.add(p.asText()));
            lines.add(new Line(number, n.get("text").asText(), ids, pieces,
                    n.has("decoded") ? n.get("decoded").asText() : null));
        }
        return new GoldenFile(lines);
    }

    /**
     * The optional shared fixtures: {@code <grok.root>/../shared} by convention; the system property
     * {@code grok.shared} or the environment variable {@code GROK_SHARED} override it (a git
     * worktree lives elsewhere than the main checkout).
     */
    static Path sharedDir() {
        String p = System.getProperty("grok.shared", System.getenv("GROK_SHARED"));
        return p != null ? Path.of(p) : repoRoot().resolve("../shared").normalize();
    }

    static Path repoRoot() {
        String root = System.getProperty("grok.root");
        return root != null ? Path.of(root) : Path.of("..").toAbsolutePath().normalize();
    }
}
