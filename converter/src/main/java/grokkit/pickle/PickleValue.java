package grokkit.pickle;

import java.util.ArrayList;
import java.util.List;

/**
 * The values a checkpoint pickle can build. Nothing here is a Python object: these are inert
 * data, and the allowed globals' effects ({@link PickleCalls}) only assemble them.
 *
 * <p>Containers are classes, not records, so that nothing ever computes a recursive
 * {@code equals}/{@code hashCode}/{@code toString} over a shared-substructure graph (memo
 * references can make it exponential); {@link #describe()} is bounded.
 */
public sealed interface PickleValue {

    /** Short human-readable description for error messages (bounded in size). */
    String describe();

    /** Nesting depth: 0 for scalars, 1 + the deepest element for containers. */
    default int depth() {
        return 0;
    }

    enum None implements PickleValue {
        NONE;

        public String describe() {
            return "None";
        }
    }

    record Bool(boolean value) implements PickleValue {
        public String describe() {
            return value ? "True" : "False";
        }
    }

    record Int(long value) implements PickleValue {
        public String describe() {
            return Long.toString(value);
        }
    }

    record Float(double value) implements PickleValue {
        public String describe() {
            return Double.toString(value);
        }
    }

    record Str(String value) implements PickleValue {
        public String describe() {
            return "'" + printable(value, 60) + "'";
        }
    }

    /**
     * {@code s} cut to {@code max} characters, control characters escaped: hostile strings end
     * up in error messages and must not drive the user's terminal.
     */
    static String printable(String s, int max) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < max; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || (c >= 0x7f && c < 0xa0)) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        if (s.length() > max) sb.append("...");
        return sb.toString();
    }

    /**
     * A bytes or bytearray payload, by reference: where it lies in the file. Never copied.
     *
     * @param offset    file offset of the first payload byte
     * @param length    payload length in bytes
     * @param bytearray true for BYTEARRAY8 (protocol 5's in-band writable buffer)
     */
    record Bytes(long offset, long length, boolean bytearray) implements PickleValue {
        public String describe() {
            return (bytearray ? "bytearray" : "bytes") + "[" + length + " at " + offset + "]";
        }
    }

    /** A reference to an allowed global (never resolved to anything executable). */
    record Global(AllowedGlobal global) implements PickleValue {
        public String describe() {
            return global.pythonName();
        }
    }

    /** Tuples, lists and dicts-as-pairs share this: an ordered, bounded list of items. */
    abstract sealed class Container implements PickleValue permits Tuple, PyList, Dict {
        final List<PickleValue> items;
        int depth;

        Container(List<PickleValue> items) {
            this.items = items;
            for (PickleValue v : items) depth = Math.max(depth, v.depth());
            depth++;
        }

        public int size() {
            return items.size();
        }

        public PickleValue get(int i) {
            return items.get(i);
        }

        @Override
        public int depth() {
            return depth;
        }

        String describeItems(String open, String close) {
            StringBuilder sb = new StringBuilder(open);
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) sb.append(", ");
                if (i == 6) {
                    sb.append("... ").append(items.size() - 6).append(" more");
                    break;
                }
                PickleValue v = items.get(i);
                sb.append(v instanceof Container c ? c.shortName() : v.describe());
            }
            return sb.append(close).toString();
        }

        abstract String shortName();

        @Override
        public String toString() {
            return describe();
        }
    }

    final class Tuple extends Container {
        public Tuple(List<PickleValue> items) {
            super(List.copyOf(items));
        }

        public String describe() {
            return describeItems("(", items.size() == 1 ? ",)" : ")");
        }

        String shortName() {
            return "tuple[" + items.size() + "]";
        }
    }

    final class PyList extends Container {
        public PyList() {
            super(new ArrayList<>());
        }

        void add(PickleValue v) {
            items.add(v);
            depth = Math.max(depth, v.depth() + 1);
        }

        public String describe() {
            return describeItems("[", "]");
        }

        String shortName() {
            return "list[" + items.size() + "]";
        }
    }

    /** A dict, kept as alternating keys and values in insertion order (no hashing). */
    final class Dict extends Container {
        public Dict() {
            super(new ArrayList<>());
        }

        void put(PickleValue key, PickleValue value) {
            items.add(key);
            items.add(value);
            depth = Math.max(depth, Math.max(key.depth(), value.depth()) + 1);
        }

        public int entryCount() {
            return items.size() / 2;
        }

        public PickleValue key(int i) {
            return items.get(2 * i);
        }

        public PickleValue value(int i) {
            return items.get(2 * i + 1);
        }

        /** The value of string key {@code name}; null if absent. The last one wins, as in Python. */
        public PickleValue getStr(String name) {
            PickleValue found = null;
            for (int i = 0; i < entryCount(); i++)
                if (key(i) instanceof Str s && s.value().equals(name)) found = value(i);
            return found;
        }

        public String describe() {
            StringBuilder sb = new StringBuilder("{");
            for (int i = 0; i < entryCount() && i < 6; i++) {
                if (i > 0) sb.append(", ");
                sb.append(key(i) instanceof Container c ? c.shortName() : key(i).describe()).append(": ")
                  .append(value(i) instanceof Container c ? c.shortName() : value(i).describe());
            }
            return sb.append(entryCount() > 6 ? ", ...}" : "}").toString();
        }

        String shortName() {
            return "dict[" + entryCount() + "]";
        }
    }

    /**
     * A numpy dtype under construction: {@code numpy.dtype(code, False, True)} creates it, the
     * following BUILD sets the byte order (and, for ml_dtypes' bf16, the item size).
     */
    final class DtypeValue implements PickleValue {
        /** numpy's type code ({@code f4}, {@code i1}, ...) or {@code bfloat16}. */
        public final String code;
        NumpyDtype built;

        DtypeValue(String code) {
            this.code = code;
        }

        /** The finished dtype, or null before its BUILD. */
        public NumpyDtype dtype() {
            return built;
        }

        public String describe() {
            return built != null ? built.toString() : "dtype('" + code + "', unbuilt)";
        }
    }

    /**
     * A numpy array. Made empty by {@code _reconstruct} and filled by BUILD, or made complete
     * by protocol 5's {@code _frombuffer}.
     */
    final class ArrayValue implements PickleValue {
        NumpyArray built;

        ArrayValue() {}

        ArrayValue(NumpyArray array) {
            this.built = array;
        }

        /** The array's description, or null if its BUILD never came. */
        public NumpyArray array() {
            return built;
        }

        public String describe() {
            return built != null ? built.toString() : "ndarray(unbuilt)";
        }
    }

    /** An instance of an allowed class (QuantizedWeight8bit): just its class and its state dict. */
    final class ObjectValue implements PickleValue {
        public final AllowedGlobal type;
        Dict state;

        ObjectValue(AllowedGlobal type) {
            this.type = type;
        }

        /** The {@code __dict__} set by BUILD, or null. */
        public Dict state() {
            return state;
        }

        public String describe() {
            return type.pythonName() + (state == null ? "()" : "(" + state.describe() + ")");
        }
    }
}
