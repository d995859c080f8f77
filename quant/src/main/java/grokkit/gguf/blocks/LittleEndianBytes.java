package grokkit.gguf.blocks;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian shorts and ints in byte arrays (GGUF and every ggml block are little-endian). */
final class LittleEndianBytes {
    private static final VarHandle SHORTS = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private LittleEndianBytes() {}

    static void putShort(byte[] b, int at, short v) { SHORTS.set(b, at, v); }

    static short getShort(byte[] b, int at) { return (short) SHORTS.get(b, at); }

    static void putInt(byte[] b, int at, int v) { INTS.set(b, at, v); }

    static int getInt(byte[] b, int at) { return (int) INTS.get(b, at); }
}
