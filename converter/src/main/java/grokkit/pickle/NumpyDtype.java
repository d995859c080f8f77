package grokkit.pickle;

/**
 * A numpy dtype as a pickle describes it.
 *
 * @param code      numpy's type code without byte order ({@code f4}, {@code i1}, {@code u1},
 *                  {@code f2}, ...) or {@code bfloat16} for ml_dtypes' bf16
 * @param byteOrder {@code '<'} little, {@code '>'} big, {@code '|'} not applicable (1-byte types)
 * @param itemSize  bytes per element
 */
public record NumpyDtype(String code, char byteOrder, int itemSize) {
    @Override
    public String toString() {
        return "dtype('" + byteOrder + code + "')";
    }
}
