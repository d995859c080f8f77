package grokkit.convert;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import grokkit.shard.TensorRecord;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code conversion-report.json}: for every stored record its encoding and size, and for
 * every re-quantized one (q4, bf16 embeddings) the error against the source values
 * (dequantized from xAI's int8, or the f32 array), computed in float64:
 * {@code rel_rms = sqrt(Σ(w'−w)² / Σw²)}, {@code sqnr_db = 10·log10(Σw² / Σ(w'−w)²)}.
 * Contains no timings, so the same conversion gives the same bytes.
 */
@JsonPropertyOrder({"summary", "imatrix", "by_encoding", "worst", "tensors"})
public record ConversionReport(@JsonProperty("summary") Summary summary,
                               @JsonProperty("by_encoding") List<EncodingRow> byEncoding,
                               @JsonProperty("worst") List<Entry> worst,
                               @JsonProperty("tensors") List<Entry> tensors,
                               @JsonProperty("imatrix") @JsonInclude(JsonInclude.Include.NON_NULL) ImatrixUse imatrix) {

    /** The importance matrix that weighted the q4nl error ({@code --imatrix}); absent without one. */
    public record ImatrixUse(@JsonProperty("file") String file, @JsonProperty("sha256") String sha256,
                             @JsonProperty("calibration") String calibration) {}

    /** Without an importance matrix. */
    public ConversionReport(Summary summary, List<EncodingRow> byEncoding, List<Entry> worst, List<Entry> tensors) {
        this(summary, byEncoding, worst, tensors, null);
    }

    /** The same report, recording the importance matrix used. */
    ConversionReport withImatrix(ImatrixUse use) {
        return new ConversionReport(summary, byEncoding, worst, tensors, use);
    }

    public static final String FILE_NAME = "conversion-report.json";
    static final int WORST = 10;

    /** One stored record. Error fields are null for lossless records. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"name", "expert", "encoding", "params", "bytes", "bits_per_weight", "lossless", "sum_sq", "err_sq", "rel_rms", "sqnr_db"})
    public record Entry(@JsonProperty("name") String name,
                        @JsonProperty("expert") Integer expert,
                        @JsonProperty("encoding") String encoding,
                        @JsonProperty("params") long params,
                        @JsonProperty("bytes") long bytes,
                        @JsonProperty("bits_per_weight") double bitsPerWeight,
                        @JsonProperty("lossless") boolean lossless,
                        @JsonProperty("sum_sq") Double sumSq,
                        @JsonProperty("err_sq") Double errSq,
                        @JsonProperty("rel_rms") Double relRms,
                        @JsonProperty("sqnr_db") Double sqnrDb) {

        static Entry of(TensorRecord r, boolean lossless, double sumSq, double errSq) {
            long params = (long) r.in() * r.out();
            long bytes = r.weights().length() + (r.scales() == null ? 0 : r.scales().length());
            Double rel = null, sqnr = null;
            if (!lossless) {
                rel = sumSq > 0 ? Math.sqrt(errSq / sumSq) : (errSq > 0 ? null : 0.0);
                sqnr = errSq > 0 && sumSq > 0 ? 10 * Math.log10(sumSq / errSq) : null;
            }
            return new Entry(r.name(), r.expert(), r.encoding().name(), params, bytes, 8.0 * bytes / params, lossless,
                    lossless ? null : sumSq, lossless ? null : errSq, rel, sqnr);
        }

        String label() {
            return expert == null ? name : name + " [expert " + expert + "]";
        }
    }

    @JsonPropertyOrder({"encoding", "records", "params", "bytes", "bits_per_weight", "rel_rms", "sqnr_db"})
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record EncodingRow(@JsonProperty("encoding") String encoding,
                              @JsonProperty("records") int records,
                              @JsonProperty("params") long params,
                              @JsonProperty("bytes") long bytes,
                              @JsonProperty("bits_per_weight") double bitsPerWeight,
                              @JsonProperty("rel_rms") Double relRms,
                              @JsonProperty("sqnr_db") Double sqnrDb) {}

    @JsonPropertyOrder({"records", "params", "bytes", "bits_per_weight", "requantized_records"})
    public record Summary(@JsonProperty("records") int records,
                          @JsonProperty("params") long params,
                          @JsonProperty("bytes") long bytes,
                          @JsonProperty("bits_per_weight") double bitsPerWeight,
                          @JsonProperty("requantized_records") int requantized) {}

    static ConversionReport of(List<Entry> entries) {
        Map<String, double[]> acc = new LinkedHashMap<>(); // encoding → records, params, bytes, sumSq, errSq, lossy
        long params = 0, bytes = 0;
        int lossy = 0;
        for (Entry e : entries) {
            double[] a = acc.computeIfAbsent(e.encoding(), k -> new double[6]);
            a[0]++;
            a[1] += e.params();
            a[2] += e.bytes();
            if (!e.lossless()) {
                a[3] += e.sumSq();
                a[4] += e.errSq();
                a[5] = 1;
                lossy++;
            }
            params += e.params();
            bytes += e.bytes();
        }
        List<EncodingRow> rows = new ArrayList<>();
        acc.forEach((enc, a) -> rows.add(new EncodingRow(enc, (int) a[0], (long) a[1], (long) a[2], 8 * a[2] / a[1],
                a[5] > 0 && a[3] > 0 ? Math.sqrt(a[4] / a[3]) : null,
                a[5] > 0 && a[4] > 0 && a[3] > 0 ? 10 * Math.log10(a[3] / a[4]) : null)));
        List<Entry> worst = entries.stream().filter(e -> !e.lossless() && e.relRms() != null)
                .sorted(Comparator.comparing(Entry::relRms).reversed()).limit(WORST).toList();
        return new ConversionReport(new Summary(entries.size(), params, bytes, params == 0 ? 0 : 8.0 * bytes / params, lossy),
                rows, worst, entries);
    }

    byte[] toBytes() throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        return (json.writeValueAsString(this) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    static ConversionReport read(byte[] bytes) throws IOException {
        return new ObjectMapper().readValue(bytes, ConversionReport.class);
    }

    /** The summary table printed after a conversion. */
    String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-14s %8s %16s %16s %6s %10s %9s%n", "encoding", "records", "params", "bytes", "bits/w", "rel_rms", "SQNR dB"));
        for (EncodingRow r : byEncoding)
            sb.append(String.format(Locale.ROOT, "%-14s %8d %16d %16d %6.3f %10s %9s%n", r.encoding(), r.records(), r.params(), r.bytes(),
                    r.bitsPerWeight(), r.relRms() == null ? "lossless" : String.format(Locale.ROOT, "%.3e", r.relRms()),
                    r.sqnrDb() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.sqnrDb())));
        sb.append(String.format(Locale.ROOT, "%-14s %8d %16d %16d %6.3f%n", "total", summary.records(), summary.params(), summary.bytes(), summary.bitsPerWeight()));
        if (imatrix != null)
            sb.append("q4nl error weighted by importance matrix ").append(imatrix.file()).append(" (sha256 ").append(imatrix.sha256())
                    .append("; ").append(imatrix.calibration()).append(")\n");
        if (!worst.isEmpty()) {
            sb.append("worst re-quantized tensors (relative RMS error):\n");
            for (Entry e : worst)
                sb.append(String.format(Locale.ROOT, "  %.3e  %6.2f dB  %s (%s)%n", e.relRms(), e.sqnrDb() == null ? Double.NaN : e.sqnrDb(), e.label(), e.encoding()));
        }
        return sb.toString();
    }
}
