package grokkit.io;

import grokkit.errors.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The numpy-written files under {@code src/test/resources/grokkit/io/npy/} were made by the
 * command in that folder's README.md (numpy 2.4.6); the other cases are built byte by byte here.
 */
class NpyTest {
    private static final float[][] A = {{-1f, -0.5f, 0f}, {0.5f, 1f, 1.5f}};

    @TempDir
    Path tmp;

    private Path resource(String name) throws IOException {
        try (InputStream in = NpyTest.class.getResourceAsStream("npy/" + name)) {
            assertThat(in).as("test resource npy/" + name).isNotNull();
            Path p = tmp.resolve(name);
            Files.write(p, in.readAllBytes());
            return p;
        }
    }

    @Test
    void readsEveryNumpyFormatVersion() throws IOException {
        for (String name : new String[] {"f4_2x3_v1.npy", "f4_2x3_v2.npy", "f4_2x3_v3.npy", "f4_be_2x3.npy"}) {
            Path p = resource(name);
            assertThat(Npy.readMatrix(p)).as(name).isDeepEqualTo(A);
            assertThat(Npy.readMatrix(p, 2, 3)).as(name).isDeepEqualTo(A);
        }
        assertThat(Npy.readHeader(resource("f4_2x3_v2.npy")).major()).isEqualTo(2);
        Npy.Header h3 = Npy.readHeader(resource("f4_2x3_v3.npy"));
        assertThat(h3.major()).isEqualTo(3);
        assertThat(h3.shape()).containsExactly(2, 3);
        assertThat(h3.dataOffset() % 16).isZero();
        assertThat(Npy.readHeader(resource("f4_be_2x3.npy")).bigEndian()).isTrue();
    }

    @Test
    void readsSpecialFloatValuesBitExactly() throws IOException {
        float[] v = Npy.readVector(resource("f4_special_6.npy"));
        assertThat(v).hasSize(6);
        assertThat(v[0]).isNaN();
        assertThat(v[1]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(v[2]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(Float.floatToRawIntBits(v[3])).isEqualTo(0x80000000);
        assertThat(v[4]).isEqualTo(Float.MIN_VALUE);
        assertThat(v[5]).isEqualTo(Float.MAX_VALUE);
    }

    @Test
    void writesExactlyWhatNumpySaveWrites() throws IOException {
        Path ours = tmp.resolve("ours.npy");
        Npy.write(ours, A);
        assertThat(Files.readAllBytes(ours)).isEqualTo(Files.readAllBytes(resource("f4_2x3_v1.npy")));
    }

    @Test
    void roundTripsMatricesAndVectorsWithAlignedHeaders() throws IOException {
        float[][] big = new float[3][1000];
        for (int r = 0; r < 3; r++) for (int c = 0; c < 1000; c++) big[r][c] = (float) Math.sin(r * 1000 + c);
        Path m = tmp.resolve("sub/dir/m.npy");
        Npy.write(m, big);
        assertThat(Npy.readMatrix(m, 3, 1000)).isDeepEqualTo(big);
        Npy.Header h = Npy.readHeader(m);
        assertThat(h.dataOffset() % 64).isZero();
        assertThat(h.descr()).isEqualTo("<f4");
        assertThat(Files.size(m)).isEqualTo(h.dataOffset() + 3 * 1000 * 4);

        Path v = tmp.resolve("v.npy");
        Npy.write(v, new float[] {1, 2, 3});
        assertThat(Npy.readVector(v)).containsExactly(1, 2, 3);
        assertThat(Npy.readHeader(v).shapeText()).isEqualTo("(3,)");

        Path e = tmp.resolve("empty.npy");
        Npy.write(e, new float[0][0]);
        assertThat(Npy.readMatrix(e)).isEmpty();
        // No temporary files are left next to the outputs.
        try (var s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void rejectsUnsupportedDtypeNamingTheFile() throws IOException {
        Path p = resource("f8_2x3.npy");
        assertThatThrownBy(() -> Npy.readMatrix(p)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("unsupported dtype '<f8'");
    }

    @Test
    void rejectsFortranOrder() throws IOException {
        Path p = resource("f4_fortran_3x2.npy");
        assertThatThrownBy(() -> Npy.readMatrix(p)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("Fortran");
    }

    @Test
    void rejectsWrongRankAndShapeMismatch() throws IOException {
        Path p3 = resource("f4_3d.npy");
        assertThatThrownBy(() -> Npy.readMatrix(p3)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(p3.toString()).hasMessageContaining("2-D").hasMessageContaining("(1, 2, 2)");
        Path p = resource("f4_2x3_v1.npy");
        assertThatThrownBy(() -> Npy.readMatrix(p, 3, 2)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("shape mismatch")
                .hasMessageContaining("(2, 3)").hasMessageContaining("(3, 2)");
        assertThatThrownBy(() -> Npy.readVector(p)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("1-D");
    }

    @Test
    void rejectsBadMagicTruncationAndTrailingBytes() throws IOException {
        Path good = resource("f4_2x3_v1.npy");
        byte[] bytes = Files.readAllBytes(good);

        Path magic = tmp.resolve("magic.npy");
        byte[] m = bytes.clone();
        m[1] = 'X';
        Files.write(magic, m);
        assertThatThrownBy(() -> Npy.readMatrix(magic)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(magic.toString()).hasMessageContaining("bad magic");

        Path truncated = tmp.resolve("truncated.npy");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 1));
        assertThatThrownBy(() -> Npy.readMatrix(truncated)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(truncated.toString()).hasMessageContaining("truncated");

        Path headerCut = tmp.resolve("headercut.npy");
        Files.write(headerCut, Arrays.copyOf(bytes, 40));
        assertThatThrownBy(() -> Npy.readMatrix(headerCut)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("truncated");

        Path tiny = tmp.resolve("tiny.npy");
        Files.write(tiny, new byte[] {(byte) 0x93, 'N'});
        assertThatThrownBy(() -> Npy.readMatrix(tiny)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("bad magic");

        Path trailing = tmp.resolve("trailing.npy");
        Files.write(trailing, Arrays.copyOf(bytes, bytes.length + 4));
        assertThatThrownBy(() -> Npy.readMatrix(trailing)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("unexpected bytes");

        Path missing = tmp.resolve("missing.npy");
        assertThatThrownBy(() -> Npy.readMatrix(missing)).isInstanceOf(BadInputException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("no such file");
    }

    @Test
    void rejectsUnknownVersionAndMalformedHeaders() throws IOException {
        Path v9 = tmp.resolve("v9.npy");
        byte[] b = Files.readAllBytes(resource("f4_2x3_v1.npy"));
        b[6] = 9;
        Files.write(v9, b);
        assertThatThrownBy(() -> Npy.readMatrix(v9)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("version 9.0");

        for (String dict : new String[] {
                "{'descr': '<f4', 'shape': (2, 3), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
                "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }",
                "not a dict"}) {
            Path p = tmp.resolve("h.npy");
            Files.write(p, handMade(dict, 6));
            assertThatThrownBy(() -> Npy.readMatrix(p)).as(dict).isInstanceOf(BadInputException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("header");
        }
        // A hand-made header without trailing comma and with double quotes is still valid Python.
        Path ok = tmp.resolve("ok.npy");
        Files.write(ok, handMade("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}", 6));
        assertThat(Npy.readMatrix(ok, 2, 3)).hasDimensions(2, 3);
    }

    /** A v1.0 file with the given header dict and {@code n} zero floats of data. */
    private static byte[] handMade(String dict, int n) {
        byte[] h = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + h.length + 4 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) h.length).put(h);
        return b.array();
    }
}
