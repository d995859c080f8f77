package grokkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import grokkit.errors.BadInputException;
import grokkit.errors.ExitCodes;
import grokkit.tokenizer.SentencePieceTokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;

/**
 * {@code grok tokenize}: text → token ids with the pure-Java SentencePiece tokenizer.
 * One text from the command line, or a JSONL file of {@code {"text": ...}} lines, or a speed
 * measurement on a large text file ({@code --bench}).
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Encode text to token ids with a SentencePiece tokenizer.model (no BOS/EOS added).",
                "  grok tokenize --tokenizer tokenizer.model \"Hello world\" --pieces",
                "  grok tokenize --tokenizer tokenizer.model --jsonl in.jsonl out.jsonl",
                "  grok tokenize --tokenizer tokenizer.model --bench big.txt"})
public final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "SentencePiece model (tokenizer.model).")
    Path tokenizerFile;

    @Option(names = "--pieces", description = "Also print the pieces (a JSON array on a second line).")
    boolean pieces;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Parameters(paramLabel = "TEXT", description = "Text to encode.")
        String text;

        @Option(names = "--jsonl", arity = "2", paramLabel = "FILE",
                description = "IN OUT: read lines {\"text\": ...}; write them with \"ids\" and \"pieces\" added.")
        Path[] jsonl;

        @Option(names = "--bench", paramLabel = "FILE", description = "Time encoding of a UTF-8 text file (whole, and line by line).")
        Path bench;
    }

    @Option(names = "--repeat", defaultValue = "3", description = "Timed repetitions for --bench (best is reported; default ${DEFAULT-VALUE}).")
    int repeat;

    private final ObjectMapper json = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(tokenizerFile);
        PrintWriter out = spec.commandLine().getOut();
        if (input.text != null) {
            SentencePieceTokenizer.Encoding e = tok.encodeWithPieces(input.text);
            StringBuilder ids = new StringBuilder();
            for (int id : e.ids()) {
                ids.append(ids.isEmpty() ? "" : " ").append(id);
            }
            out.println(ids);
            if (pieces) {
                out.println(json.writeValueAsString(e.pieces()));
            }
        } else if (input.jsonl != null) {
            int n = tokenizeJsonl(tok, input.jsonl[0], input.jsonl[1]);
            spec.commandLine().getErr().println("tokenized " + n + " lines into " + input.jsonl[1]);
        } else {
            TokenizerBench.run(tok, input.bench, Math.max(1, repeat), out);
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** Writes OUT through a temporary file, so a failure never leaves a partial OUT behind. */
    int tokenizeJsonl(SentencePieceTokenizer tok, Path in, Path out) throws IOException {
        grokkit.io.InputFiles.requireRegularFile(in, "");
        grokkit.io.OutputFiles.checkReplaceable(out, "");
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, out.getFileName().toString(), ".partial");
        int count = 0;
        try (BufferedReader r = Files.newBufferedReader(in, StandardCharsets.UTF_8);
             BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = r.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                ObjectNode obj = parseLine(in, number, line);
                SentencePieceTokenizer.Encoding e = tok.encodeWithPieces(obj.get("text").asText());
                ArrayNode ids = obj.putArray("ids");
                for (int id : e.ids()) {
                    ids.add(id);
                }
                ArrayNode ps = obj.putArray("pieces");
                e.pieces().forEach(ps::add);
                w.write(json.writeValueAsString(obj));
                w.newLine();
                count++;
            }
        } catch (NoSuchFileException e) {
            Files.deleteIfExists(tmp);
            throw new BadInputException("--jsonl input " + in + ": no such file");
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return count;
    }

    private ObjectNode parseLine(Path in, int number, String line) throws BadInputException {
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException("--jsonl input " + in + " line " + number + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (!(node instanceof ObjectNode obj) || !node.path("text").isTextual()) {
            throw new BadInputException("--jsonl input " + in + " line " + number + " has no string field \"text\"");
        }
        return obj;
    }
}
