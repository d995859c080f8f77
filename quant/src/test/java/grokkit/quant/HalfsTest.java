package grokkit.quant;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HalfsTest {
    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1 + 2^-7: ties go to the even one (1.0).
        assertThat(Halfs.bf16ToFloat(Halfs.floatToBf16(1f + 0x1p-8f))).isEqualTo(1f);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
        assertThat(Halfs.bf16ToFloat(Halfs.floatToBf16(1f + 3 * 0x1p-8f))).isEqualTo(1f + 0x1p-6f);
        // Just above halfway rounds up.
        assertThat(Halfs.bf16ToFloat(Halfs.floatToBf16(Math.nextUp(1f + 0x1p-8f)))).isEqualTo(1f + 0x1p-7f);
        assertThat(Float.isNaN(Halfs.bf16ToFloat(Halfs.floatToBf16(Float.NaN)))).isTrue();
        assertThat(Halfs.bf16ToFloat(Halfs.floatToBf16(-2.5f))).isEqualTo(-2.5f);
    }

    @Test
    void bf16RoundTripIsExactForBf16Values() {
        for (int h = 0; h < 65536; h++) {
            float f = Halfs.bf16ToFloat((short) h);
            if (Float.isNaN(f)) continue;
            assertThat(Halfs.floatToBf16(f)).isEqualTo((short) h);
        }
    }

    @Test
    void f16RoundsToNearestEven() {
        // f16 has 10 fraction bits: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        assertThat(Halfs.f16ToFloat(Halfs.floatToF16(1f + 0x1p-11f))).isEqualTo(1f);
        assertThat(Halfs.f16ToFloat(Halfs.floatToF16(1f + 3 * 0x1p-11f))).isEqualTo(1f + 0x1p-9f);
        assertThat(Halfs.f16ToFloat(Halfs.floatToF16(65504f))).isEqualTo(65504f);
        assertThat(Halfs.f16ToFloat(Halfs.floatToF16(1e6f))).isInfinite();
    }
}
