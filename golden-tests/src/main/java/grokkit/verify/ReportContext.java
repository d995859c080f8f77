package grokkit.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * What a verify report says about the run besides the metrics: the model (its name, weight
 * encodings, size and bits per weight), the grok-kit build, the date and the command line.
 * Fields may be null when unknown (e.g. precomputed logits have no encoding).
 *
 * @param modelName     a short name for titles, e.g. the model directory's name
 * @param encodings     the weight encodings, e.g. ["int8-rowblock", "q4nl:32"]
 * @param sizeBytes     bytes of weights and scales, or -1
 * @param bitsPerWeight bits per matrix weight including scales, or NaN
 * @param grokKit       e.g. "grok-kit 0.1.0 (commit abc1234)"
 * @param date          ISO-8601 date-time of the run
 * @param command       the command line
 */
public record ReportContext(String modelName, List<String> encodings, long sizeBytes, double bitsPerWeight,
                            String grokKit, String date, String command) {

    public static ReportContext unknown() {
        return new ReportContext(null, List.of(), -1, Double.NaN, null, null, null);
    }

    ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("model_name", modelName);
        var enc = o.putArray("encodings");
        if (encodings != null) encodings.forEach(enc::add);
        if (sizeBytes >= 0) o.put("size_bytes", sizeBytes);
        else o.putNull("size_bytes");
        if (Double.isFinite(bitsPerWeight)) o.put("bits_per_weight", bitsPerWeight);
        else o.putNull("bits_per_weight");
        o.put("grok_kit", grokKit);
        o.put("date", date);
        o.put("command", command);
        return o;
    }
}
