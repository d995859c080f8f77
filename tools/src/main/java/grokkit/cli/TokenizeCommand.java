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
import picocli.CommandLine.Mixin;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code grok tokenize}: text → token ids with the pure-Java SentencePiece tokenizer, and back
 * with {@code --decode}. One text from the command line or stdin, a JSONL file of
 * {@code {"text": ...}} lines, or a speed measurement on a large text file ({@code --bench}).
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Encode text to token ids with a SentencePiece tokenizer, or decode ids back to text.",
                "Without TEXT (or with -) the text is read from stdin as UTF-8. No BOS or EOS is added unless --bos."},
        footerHeading = "%nExamples:%n",
        footer = {"  grok tokenize --tokenizer tokenizer.model \"Hello world\" --pieces",
                "  echo \"Hello world\" | grok tokenize --tokenizer tokenizer.model",
                "  grok tokenize --tokenizer tokenizer.model --decode 15496,995",
                "  grok tokenize --tokenizer tokenizer.model --jsonl in.jsonl out.jsonl",
                "  grok tokenize --tokenizer tokenizer.model --bench big.txt"})
public final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--pieces", description = "Also print the pieces (a JSON array on a second line).")
    boolean pieces;

    @Option(names = "--bos", description = "Prepend the BOS token id when encoding.")
    boolean bos;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Input input;

    static final class Input {
        @Parameters(paramLabel = "TEXT", description = "Text to encode; - or nothing reads stdin.")
        String text;

        @Option(names = "--decode", paramLabel = "IDS",
                description = "Decode token ids (separated by commas or spaces; - reads them from stdin) to text.")
        String decode;

        @Option(names = "--jsonl", arity = "2", paramLabel = "FILE",
                description = "IN OUT: read lines {\"text\": ...}; write them with \"ids\" and \"pieces\" added.")
        Path[] jsonl;

        @Option(names = "--bench", paramLabel = "FILE", description = "Time encoding of a UTF-8 text file (whole, and line by line).")
        Path bench;
    }

    @Option(names = "--repeat", defaultValue = "3", paramLabel = "N", description = "Timed repetitions for --bench; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    /** Created on first use: an ObjectMapper costs a tenth of a second, which --help should not pay. */
    private ObjectMapper json;

    private ObjectMapper json() {
        if (json == null) json = new ObjectMapper();
        return json;
    }

    @Override
    public Integer call() throws Exception {
        if (tokenizer.file() == null) throw new BadInputException("--tokenizer FILE is required (a SentencePiece tokenizer.model)");
        SentencePieceTokenizer tok = SentencePieceTokenizer.load(tokenizer.file());
        PrintWriter out = spec.commandLine().getOut();
        if (input != null && input.decode != null) {
            String text = input.decode.equals("-") ? readStdin() : input.decode;
            int[] ids = parseIds(text, tok.vocabSize());
            out.println(tok.decode(ids));
            if (pieces) {
                List<String> ps = new ArrayList<>();
                for (int id : ids) ps.add(tok.idToPiece(id));
                out.println(json().writeValueAsString(ps));
            }
        } else if (input != null && input.jsonl != null) {
            int n = tokenizeJsonl(tok, input.jsonl[0], input.jsonl[1]);
            spec.commandLine().getErr().println("tokenized " + n + " lines into " + input.jsonl[1]);
        } else if (input != null && input.bench != null) {
            TokenizerBench.run(tok, input.bench, Math.max(1, repeat), out);
        } else {
            String text = input == null || input.text == null || input.text.equals("-") ? stripFinalNewline(readStdin()) : input.text;
            SentencePieceTokenizer.Encoding e = tok.encodeWithPieces(text);
            StringBuilder ids = new StringBuilder();
            if (bos) ids.append(tok.bosId());
            for (int id : e.ids()) {
                ids.append(ids.isEmpty() ? "" : " ").append(id);
            }
            out.println(ids);
            if (pieces) {
                List<String> ps = new ArrayList<>(e.pieces());
                if (bos) ps.addFirst(tok.idToPiece(tok.bosId()));
                out.println(json().writeValueAsString(ps));
            }
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** stdin as UTF-8 (whatever the locale), refusing bytes that are not UTF-8. */
    static String readStdin() throws IOException {
        byte[] bytes = System.in.readAllBytes();
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new BadInputException("stdin: not UTF-8 text");
        }
    }

    /** echo adds a newline the user did not mean to tokenize; one final newline is dropped. */
    private static String stripFinalNewline(String s) {
        if (s.endsWith("\r\n")) return s.substring(0, s.length() - 2);
        if (s.endsWith("\n")) return s.substring(0, s.length() - 1);
        return s;
    }

    /** Ids separated by commas and/or whitespace, each in [0, vocab). */
    static int[] parseIds(String text, int vocab) throws BadInputException {
        String t = text.trim();
        if (t.startsWith("[") && t.endsWith("]")) t = t.substring(1, t.length() - 1);
        String[] parts = t.trim().isEmpty() ? new String[0] : t.trim().split("[,\\s]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new BadInputException("--decode: '" + parts[i] + "' (item " + (i + 1) + ") is not a token id");
            }
            if (ids[i] < 0 || ids[i] >= vocab)
                throw new BadInputException("--decode: token id " + ids[i] + " (item " + (i + 1) + ") is outside the vocabulary [0, " + vocab + ")");
        }
        return ids;
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
                w.write(json().writeValueAsString(obj));
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
            node = json().readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException("--jsonl input " + in + " line " + number + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (!(node instanceof ObjectNode obj) || !node.path("text").isTextual()) {
            throw new BadInputException("--jsonl input " + in + " line " + number + " has no string field \"text\"");
        }
        return obj;
    }
}
