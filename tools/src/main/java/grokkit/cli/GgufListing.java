package grokkit.cli;

import grokkit.gguf.GgmlType;
import grokkit.gguf.GgufFile;
import grokkit.gguf.GgufTensorInfo;
import grokkit.gguf.GgufValue;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/** {@code grok inspect FILE.gguf}: a GGUF file's header, keys and tensors, read by the checked reader ({@link GgufFile}). */
final class GgufListing {
    private GgufListing() {}

    static void print(Path file, PrintWriter out) throws IOException {
        GgufFile g = GgufFile.read(file);
        out.printf(Locale.ROOT, "GGUF %s: version %d, %d keys, %d tensors, alignment %d, data from byte %d, %,d bytes%n",
                file, g.version(), g.metadata().size(), g.tensors().size(), g.alignment(), g.dataStart(), g.fileSize());
        out.println();
        int kw = 3;
        for (String k : g.metadata().keySet()) kw = Math.max(kw, k.length());
        for (Map.Entry<String, GgufValue> e : g.metadata().entrySet())
            out.printf("%-" + kw + "s  %-4s  %s%n", e.getKey(), e.getValue().type().shortName(), e.getValue().display());
        out.println();
        int nw = 4;
        for (GgufTensorInfo t : g.tensors()) nw = Math.max(nw, t.name().length());
        String row = "%-" + nw + "s  %-24s  %-7s  %16s  %14s  %6s%n";
        out.printf(row, "name", "shape (ne)", "type", "elements", "bytes", "bpw");
        Map<GgmlType, long[]> byType = new EnumMap<>(GgmlType.class);
        long elements = 0, bytes = 0;
        for (GgufTensorInfo t : g.tensors()) {
            out.printf(Locale.ROOT, row, t.name(), t.shapeString(), t.type().cliName(), String.format("%,d", t.elements()),
                    String.format("%,d", t.bytes()), String.format(Locale.ROOT, "%.3f", 8.0 * t.bytes() / t.elements()));
            long[] a = byType.computeIfAbsent(t.type(), x -> new long[3]);
            a[0]++;
            a[1] += t.elements();
            a[2] += t.bytes();
            elements += t.elements();
            bytes += t.bytes();
        }
        out.println();
        for (Map.Entry<GgmlType, long[]> e : byType.entrySet())
            out.printf(Locale.ROOT, "%-7s %5d tensors  %,20d weights  %,20d bytes  %.3f bits/weight%n", e.getKey().cliName(),
                    e.getValue()[0], e.getValue()[1], e.getValue()[2], 8.0 * e.getValue()[2] / e.getValue()[1]);
        out.printf(Locale.ROOT, "%-7s %5d tensors  %,20d weights  %,20d bytes  %.3f bits/weight%n", "total", g.tensors().size(),
                elements, bytes, elements == 0 ? 0 : 8.0 * bytes / elements);
    }
}
