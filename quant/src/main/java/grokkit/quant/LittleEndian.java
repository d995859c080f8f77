package grokkit.quant;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian 16/32-bit access to byte arrays (all our regions are little-endian). */
final class LittleEndian {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private LittleEndian() {}

    static void putShort(byte[] a, int off, short v) { SHORT.set(a, off, v); }
    static short getShort(byte[] a, int off) { return (short) SHORT.get(a, off); }
    static void putFloat(byte[] a, int off, float v) { INT.set(a, off, Float.floatToRawIntBits(v)); }
    static float getFloat(byte[] a, int off) { return Float.intBitsToFloat((int) INT.get(a, off)); }
}
