package grokkit.gguf;

import java.util.List;
import java.util.Locale;

/**
 * One metadata value. Scalars are held as {@code Long} (every integer type, unsigned ones
 * zero-extended), {@code Float}, {@code Double}, {@code Boolean} or {@code String}; an array as
 * a {@code long[]} (integers), {@code float[]}, {@code double[]}, {@code boolean[]} or
 * {@code List<String>}, with its element type.
 *
 * @param type        the value's type ({@link GgufValueType#ARRAY} for arrays)
 * @param elementType the element type of an array, else null
 * @param value       the value, as above
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
    public GgufValue {
        if ((type == GgufValueType.ARRAY) != (elementType != null))
            throw new IllegalArgumentException("an array has an element type, a scalar none");
        if (elementType == GgufValueType.ARRAY) throw new IllegalArgumentException("nested arrays are not supported");
    }

    public static GgufValue u32(long v) { return new GgufValue(GgufValueType.UINT32, null, v); }
    public static GgufValue u16(int v) { return new GgufValue(GgufValueType.UINT16, null, (long) v); }
    public static GgufValue i32(int v) { return new GgufValue(GgufValueType.INT32, null, (long) v); }
    public static GgufValue u64(long v) { return new GgufValue(GgufValueType.UINT64, null, v); }
    public static GgufValue f32(float v) { return new GgufValue(GgufValueType.FLOAT32, null, v); }
    public static GgufValue bool(boolean v) { return new GgufValue(GgufValueType.BOOL, null, v); }
    public static GgufValue string(String v) { return new GgufValue(GgufValueType.STRING, null, v); }
    public static GgufValue strings(List<String> v) { return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, List.copyOf(v)); }
    public static GgufValue f32s(float[] v) { return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, v.clone()); }
    public static GgufValue i32s(int[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = v[i];
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, l);
    }

    /** Number of array elements; 1 for a scalar. */
    public int count() {
        if (type != GgufValueType.ARRAY) return 1;
        return switch (value) {
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case List<?> l -> l.size();
            default -> throw new IllegalStateException("array value of " + value.getClass());
        };
    }

    /** The integer value of an integer scalar; throws otherwise. */
    public long asLong() {
        if (value instanceof Long l) return l;
        throw new IllegalStateException("not an integer: " + type.shortName());
    }

    /** A number scalar as a double; throws otherwise. */
    public double asDouble() {
        return switch (value) {
            case Long l -> l;
            case Float f -> f;
            case Double d -> d;
            default -> throw new IllegalStateException("not a number: " + type.shortName());
        };
    }

    public String asString() {
        if (value instanceof String s) return s;
        throw new IllegalStateException("not a string: " + type.shortName());
    }

    /** A short display: the scalar, or the element type, count and first elements of an array. */
    public String display() {
        if (type != GgufValueType.ARRAY) {
            return switch (value) {
                case String s -> '"' + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + '"';
                case Float f -> String.format(Locale.ROOT, "%s", f);
                default -> String.valueOf(value);
            };
        }
        StringBuilder b = new StringBuilder("[").append(elementType.shortName()).append(" x ").append(count()).append("]");
        int show = Math.min(count(), 4);
        if (show > 0) {
            b.append(" ");
            for (int i = 0; i < show; i++) {
                if (i > 0) b.append(", ");
                b.append(switch (value) {
                    case long[] a -> String.valueOf(a[i]);
                    case float[] a -> String.valueOf(a[i]);
                    case double[] a -> String.valueOf(a[i]);
                    case boolean[] a -> String.valueOf(a[i]);
                    case List<?> l -> '"' + String.valueOf(l.get(i)) + '"';
                    default -> "?";
                });
            }
            if (count() > show) b.append(", ...");
        }
        return b.toString();
    }
}
