package grokkit.pickle;

/**
 * The pickle opcodes this reader knows by name. Only some of them are executed (see
 * {@link PickleMachine}); the others are listed so a refusal can say which opcode it met
 * ("opcode 0x69 INST is not allowed") instead of printing a bare byte.
 */
public final class PickleOpcodes {
    // Executed: structure and constants (protocols 2-5).
    public static final int MARK = '(';
    public static final int STOP = '.';
    public static final int POP = '0';
    public static final int NONE = 'N';
    public static final int NEWTRUE = 0x88;
    public static final int NEWFALSE = 0x89;
    public static final int BININT = 'J';
    public static final int BININT1 = 'K';
    public static final int BININT2 = 'M';
    public static final int LONG1 = 0x8a;
    public static final int LONG4 = 0x8b;
    public static final int BINFLOAT = 'G';
    public static final int BINUNICODE = 'X';
    public static final int SHORT_BINUNICODE = 0x8c;
    public static final int BINUNICODE8 = 0x8d;
    public static final int BINBYTES = 'B';
    public static final int SHORT_BINBYTES = 'C';
    public static final int BINBYTES8 = 0x8e;
    public static final int BYTEARRAY8 = 0x96;
    public static final int EMPTY_TUPLE = ')';
    public static final int TUPLE = 't';
    public static final int TUPLE1 = 0x85;
    public static final int TUPLE2 = 0x86;
    public static final int TUPLE3 = 0x87;
    public static final int EMPTY_LIST = ']';
    public static final int LIST = 'l';
    public static final int APPEND = 'a';
    public static final int APPENDS = 'e';
    public static final int EMPTY_DICT = '}';
    public static final int DICT = 'd';
    public static final int SETITEM = 's';
    public static final int SETITEMS = 'u';
    public static final int BINPUT = 'q';
    public static final int LONG_BINPUT = 'r';
    public static final int MEMOIZE = 0x94;
    public static final int BINGET = 'h';
    public static final int LONG_BINGET = 'j';
    public static final int PROTO = 0x80;
    public static final int FRAME = 0x95;
    // Executed, but only against the allow-list of globals.
    public static final int GLOBAL = 'c';
    public static final int STACK_GLOBAL = 0x93;
    public static final int REDUCE = 'R';
    public static final int BUILD = 'b';
    public static final int NEWOBJ = 0x81;
    // Known and always refused.
    public static final int NEXT_BUFFER = 0x97;
    public static final int READONLY_BUFFER = 0x98;

    private PickleOpcodes() {}

    /** The opcode's name as {@code pickletools} prints it, or {@code "unknown"}. */
    public static String name(int op) {
        return switch (op) {
            case '(' -> "MARK";
            case '.' -> "STOP";
            case '0' -> "POP";
            case '1' -> "POP_MARK";
            case '2' -> "DUP";
            case 'F' -> "FLOAT";
            case 'I' -> "INT";
            case 'J' -> "BININT";
            case 'K' -> "BININT1";
            case 'L' -> "LONG";
            case 'M' -> "BININT2";
            case 'N' -> "NONE";
            case 'P' -> "PERSID";
            case 'Q' -> "BINPERSID";
            case 'R' -> "REDUCE";
            case 'S' -> "STRING";
            case 'T' -> "BINSTRING";
            case 'U' -> "SHORT_BINSTRING";
            case 'V' -> "UNICODE";
            case 'X' -> "BINUNICODE";
            case 'a' -> "APPEND";
            case 'b' -> "BUILD";
            case 'c' -> "GLOBAL";
            case 'd' -> "DICT";
            case '}' -> "EMPTY_DICT";
            case 'e' -> "APPENDS";
            case 'g' -> "GET";
            case 'h' -> "BINGET";
            case 'i' -> "INST";
            case 'j' -> "LONG_BINGET";
            case 'l' -> "LIST";
            case ']' -> "EMPTY_LIST";
            case 'o' -> "OBJ";
            case 'p' -> "PUT";
            case 'q' -> "BINPUT";
            case 'r' -> "LONG_BINPUT";
            case 's' -> "SETITEM";
            case 't' -> "TUPLE";
            case ')' -> "EMPTY_TUPLE";
            case 'u' -> "SETITEMS";
            case 'G' -> "BINFLOAT";
            case 'B' -> "BINBYTES";
            case 'C' -> "SHORT_BINBYTES";
            case 0x80 -> "PROTO";
            case 0x81 -> "NEWOBJ";
            case 0x82 -> "EXT1";
            case 0x83 -> "EXT2";
            case 0x84 -> "EXT4";
            case 0x85 -> "TUPLE1";
            case 0x86 -> "TUPLE2";
            case 0x87 -> "TUPLE3";
            case 0x88 -> "NEWTRUE";
            case 0x89 -> "NEWFALSE";
            case 0x8a -> "LONG1";
            case 0x8b -> "LONG4";
            case 0x8c -> "SHORT_BINUNICODE";
            case 0x8d -> "BINUNICODE8";
            case 0x8e -> "BINBYTES8";
            case 0x8f -> "EMPTY_SET";
            case 0x90 -> "ADDITEMS";
            case 0x91 -> "FROZENSET";
            case 0x92 -> "NEWOBJ_EX";
            case 0x93 -> "STACK_GLOBAL";
            case 0x94 -> "MEMOIZE";
            case 0x95 -> "FRAME";
            case 0x96 -> "BYTEARRAY8";
            case 0x97 -> "NEXT_BUFFER";
            case 0x98 -> "READONLY_BUFFER";
            default -> "unknown";
        };
    }
}
