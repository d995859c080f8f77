package grokkit.verify;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything {@code grok verify} measured: per prompt and pooled metrics, the thresholds and
 * their verdicts. Serialized as the {@code --json} file (NaN, e.g. the perplexity ratio of a
 * one-token prompt, is written as {@code null} so the file is standard JSON).
 *
 * @param golden     the golden directory
 * @param mode       the golden mode compared against ({@code f32} or {@code bf16})
 * @param source     what produced our logits (model directory or logits directory)
 * @param vocab      vocabulary size
 * @param thresholds the bounds applied
 * @param prompts    per-prompt results, in golden order
 * @param overall    all positions of all prompts pooled
 * @param checks     the evaluated bounds
 * @param passed     whether every check passed
 */
public record VerifyResult(String golden, String mode, String source, int vocab, Thresholds thresholds,
                           List<PromptResult> prompts, Metrics.Summary overall, List<Thresholds.Check> checks,
                           boolean passed) {

    /**
     * @param k              the golden prompt id
     * @param length         number of tokens (= positions)
     * @param summary        the prompt's metrics
     * @param klPerPosition  KL(golden || ours) at each position
     * @param top1Mismatches positions whose argmax differs from the golden argmax
     */
    public record PromptResult(int k, int length, Metrics.Summary summary, double[] klPerPosition,
                               int[] top1Mismatches) {}

    /** The failed checks. */
    public List<Thresholds.Check> failures() {
        return checks.stream().filter(c -> !c.passed()).toList();
    }

    // ------------------------------------------------------------------ JSON

    /** The mapper used for {@code --json}: indented, NaN/±Inf as null, null read back as NaN. */
    public static ObjectMapper jsonMapper() {
        SimpleModule m = new SimpleModule("grok-verify-nan-as-null");
        m.addSerializer(Double.class, new NanAsNull());
        m.addSerializer(Double.TYPE, new NanAsNull());
        m.addSerializer(double[].class, new NanArrayAsNull());
        m.addDeserializer(Double.TYPE, new NullAsNan());
        m.addDeserializer(double[].class, new NullArrayAsNan());
        return new ObjectMapper().registerModule(m)
                .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    /** Version of the JSON document (docs/SCHEMAS.md); bumped when a field changes meaning or goes away. */
    public static final int SCHEMA_VERSION = 3; // 3: delta_p_* (2: delta_pmean...); 2: snake_case (1: camelCase)

    public String toJson() throws IOException {
        return toJson(null);
    }

    /**
     * The JSON document: {@code schema_version}, then the fields in snake_case, with {@code source}
     * as {@code {"kind": "model"|"logits", "path": ...}} and {@code run} (what was verified, by
     * which grok-kit, when, with which command) when known.
     */
    public String toJson(ReportContext run) throws IOException {
        ObjectMapper m = jsonMapper();
        ObjectNode tree = m.valueToTree(this);
        ObjectNode doc = m.createObjectNode();
        doc.put("schema_version", SCHEMA_VERSION);
        tree.properties().forEach(e -> {
            if (e.getKey().equals("source")) {
                ObjectNode src = doc.putObject("source");
                String[] kp = sourceKindAndPath(source);
                src.put("kind", kp[0]);
                src.put("path", kp[1]);
            } else {
                doc.set(e.getKey(), e.getValue());
            }
        });
        if (run != null) doc.set("run", run.toJson());
        return m.writeValueAsString(doc);
    }

    /** "model DIR" / "logits DIR" → {kind, path}. */
    static String[] sourceKindAndPath(String source) {
        int sp = source == null ? -1 : source.indexOf(' ');
        if (sp < 0) return new String[]{"unknown", source == null ? "" : source};
        return new String[]{source.substring(0, sp), source.substring(sp + 1)};
    }

    public static VerifyResult readJson(Path file) throws IOException {
        ObjectMapper m = jsonMapper();
        ObjectNode doc = (ObjectNode) m.readTree(file.toFile());
        doc.remove("schema_version");
        doc.remove("run");
        JsonNode src = doc.get("source");
        if (src != null && src.isObject()) doc.put("source", src.path("kind").asText() + " " + src.path("path").asText());
        return m.treeToValue(doc, VerifyResult.class);
    }

    private static final class NanAsNull extends JsonSerializer<Double> {
        @Override
        public void serialize(Double v, JsonGenerator g, SerializerProvider p) throws IOException {
            if (v == null || !Double.isFinite(v)) g.writeNull();
            else g.writeNumber(v);
        }
    }

    private static final class NanArrayAsNull extends JsonSerializer<double[]> {
        @Override
        public void serialize(double[] a, JsonGenerator g, SerializerProvider p) throws IOException {
            g.writeStartArray();
            for (double v : a) {
                if (Double.isFinite(v)) g.writeNumber(v);
                else g.writeNull();
            }
            g.writeEndArray();
        }
    }

    private static final class NullAsNan extends JsonDeserializer<Double> {
        @Override
        public Double deserialize(JsonParser p, DeserializationContext c) throws IOException {
            return p.currentToken() == JsonToken.VALUE_NULL ? Double.NaN : p.getValueAsDouble();
        }

        @Override
        public Double getNullValue(DeserializationContext c) {
            return Double.NaN;
        }
    }

    private static final class NullArrayAsNan extends JsonDeserializer<double[]> {
        @Override
        public double[] deserialize(JsonParser p, DeserializationContext c) throws IOException {
            if (p.currentToken() != JsonToken.START_ARRAY) return (double[]) c.handleUnexpectedToken(double[].class, p);
            double[] buf = new double[16];
            int n = 0;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                if (n == buf.length) buf = java.util.Arrays.copyOf(buf, n * 2);
                buf[n++] = t == JsonToken.VALUE_NULL ? Double.NaN : p.getValueAsDouble();
            }
            return java.util.Arrays.copyOf(buf, n);
        }
    }
}
