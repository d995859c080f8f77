package grokkit.pickle;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static grokkit.pickle.PythonPickles.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The interpreter against pickles that Python, numpy 2 and ml_dtypes really wrote. */
class PythonWrittenPicklesTest {
    private static final Path FILE = Path.of("python.pkl");

    static PickleValue run(byte[] data) throws PickleException {
        return PickleMachine.run(FILE, MemorySegment.ofArray(data));
    }

    /** The float values of an f32 array, read from the file at the descriptor's offset. */
    static float[] floats(byte[] file, NumpyArray a, ByteOrder order) {
        MemorySegment seg = MemorySegment.ofArray(file);
        float[] out = new float[(int) a.elementCount()];
        for (int i = 0; i < out.length; i++)
            out[i] = seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(order), a.dataOffset() + 4L * i);
        return out;
    }

    private static NumpyArray array(PickleValue v) {
        assertThat(v).isInstanceOf(PickleValue.ArrayValue.class);
        NumpyArray a = ((PickleValue.ArrayValue) v).array();
        assertThat(a).isNotNull();
        return a;
    }

    @Test
    void float32ArrayInEveryProtocolPointsAtItsPayload() throws Exception {
        for (String hex : new String[]{F32_P3, F32_P5, READONLY_F32_P5}) {
            byte[] file = bytes(hex);
            NumpyArray a = array(run(file));
            assertThat(a.dtype()).isEqualTo(new NumpyDtype("f4", '<', 4));
            assertThat(a.shape()).containsExactly(2, 3);
            assertThat(a.fortranOrder()).isFalse();
            assertThat(a.dataLength()).isEqualTo(24);
            assertThat(floats(file, a, ByteOrder.LITTLE_ENDIAN)).containsExactly(0f, 1f, 2f, 3f, 4f, 5f);
        }
    }

    @Test
    void fortranAndBigEndianArraysAreDescribedAsSuch() throws Exception {
        for (String hex : new String[]{F32F_P4, F32F_P5}) {
            NumpyArray a = array(run(bytes(hex)));
            assertThat(a.fortranOrder()).isTrue();
            assertThat(a.shape()).containsExactly(2, 3);
        }
        for (String hex : new String[]{BIG_P4, BIG_P5}) {
            byte[] file = bytes(hex);
            NumpyArray a = array(run(file));
            assertThat(a.dtype().byteOrder()).isEqualTo('>');
            assertThat(floats(file, a, ByteOrder.BIG_ENDIAN)).containsExactly(0f, 1f, 2f, 3f, 4f, 5f);
        }
    }

    @Test
    void quantizedWeightWithBf16ScalesInProtocols3To5() throws Exception {
        for (String hex : new String[]{QW_P3, QW_P4, QW_P5}) {
            byte[] file = bytes(hex);
            PickleValue v = run(file);
            assertThat(v).isInstanceOf(PickleValue.ObjectValue.class);
            PickleValue.ObjectValue o = (PickleValue.ObjectValue) v;
            assertThat(o.type).isEqualTo(AllowedGlobal.QUANTIZED_WEIGHT_8BIT);
            NumpyArray w = array(o.state().getStr("weight"));
            NumpyArray s = array(o.state().getStr("scales"));
            assertThat(w.dtype()).isEqualTo(new NumpyDtype("i1", '|', 1));
            assertThat(w.shape()).containsExactly(2, 3);
            for (int i = 0; i < 6; i++) assertThat(file[(int) w.dataOffset() + i]).isEqualTo((byte) i);
            assertThat(s.dtype()).isEqualTo(new NumpyDtype("bfloat16", '<', 2));
            assertThat(s.shape()).containsExactly(1, 3);
            // bf16 1.0 = 0x3f80, 2.0 = 0x4000 (little-endian)
            assertThat(file[(int) s.dataOffset() + 3]).isEqualTo((byte) 0x3f);
            assertThat(file[(int) s.dataOffset() + 5]).isEqualTo((byte) 0x40);
        }
    }

    @Test
    void protocol2BytesAsLatin1TextAreRefusedWithAHint() {
        assertThatThrownBy(() -> run(bytes(F32_P2)))
                .isInstanceOf(PickleException.class)
                .hasMessageContaining("python.pkl: byte ")
                .hasMessageContaining("'_codecs.encode' is not allowed")
                .hasMessageContaining("re-save with protocol 3 or higher");
    }

    @Test
    void outOfBandBufferIsRefused() {
        assertThatThrownBy(() -> run(bytes(OOB_F32_P5)))
                .isInstanceOf(PickleException.class)
                .hasMessage("python.pkl: byte 50: out-of-band buffer (NEXT_BUFFER) is not supported: the array's bytes are not in this file");
    }

    @Test
    void hostileGlobalsAreRefusedNamingFileOffsetAndGlobal() {
        assertThatThrownBy(() -> run(bytes(OS_SYSTEM_P4))).isInstanceOf(PickleException.class)
                .hasMessageStartingWith("python.pkl: byte 28: global 'posix.system' is not allowed");
        assertThatThrownBy(() -> run(bytes(OS_SYSTEM_P2))).isInstanceOf(PickleException.class)
                .hasMessageStartingWith("python.pkl: byte 2: global 'posix.system' is not allowed");
        assertThatThrownBy(() -> run(bytes(BUILTINS_EVAL_P4))).isInstanceOf(PickleException.class)
                .hasMessageContaining("global 'builtins.eval' is not allowed");
        assertThatThrownBy(() -> run(bytes(BUILTINS_EVAL_P2))).isInstanceOf(PickleException.class)
                .hasMessageContaining("global '__builtin__.eval' is not allowed");
        assertThatThrownBy(() -> run(bytes(SUBPROCESS_POPEN_P4))).isInstanceOf(PickleException.class)
                .hasMessageContaining("global 'subprocess.Popen' is not allowed");
        assertThatThrownBy(() -> run(bytes(SUBPROCESS_POPEN_P2))).isInstanceOf(PickleException.class)
                .hasMessageContaining("global 'commands.Popen' is not allowed");
        assertThat(Path.of("/tmp/grokkit-pwned")).doesNotExist();
    }
}
