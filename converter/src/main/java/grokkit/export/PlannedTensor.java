package grokkit.export;

import grokkit.gguf.GgmlType;

/**
 * One tensor of the GGUF file, planned: llama.cpp's name, ggml dimensions ({@code ne0} first),
 * its class and chosen type (with the reason when a fallback changed it), the reference
 * parameter it comes from, and its rows.
 */
public record PlannedTensor(String name, long[] ne, TensorClass cls, GgmlType type, String fallbackNote, String source,
                            TensorRows rows) {
    public long elements() {
        long n = 1;
        for (long d : ne) n *= d;
        return n;
    }

    public long bytes() {
        return type.rowBytes(ne[0]) * (elements() / ne[0]);
    }
}
