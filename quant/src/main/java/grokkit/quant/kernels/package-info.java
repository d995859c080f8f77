/**
 * Vector API kernels: {@link grokkit.quant.WeightMatrix} implementations that read the byte
 * layouts of {@link grokkit.quant.EncodingSpec} in place from (memory-mapped)
 * {@link java.lang.foreign.MemorySegment}s and dequantize on the fly, accumulating in float32.
 *
 * <p>Entry points: {@link grokkit.quant.kernels.Kernels#open} builds a matrix over two byte
 * regions; {@link grokkit.quant.kernels.ParallelMatmul} splits the output range of a product
 * across a thread pool.
 *
 * <p>Design: a matrix-vector product (decode) is memory-bound, so each kernel streams its
 * weights exactly once, four output rows at a time (each loaded slice of x feeds four rows),
 * converting bytes to float lanes and FMA-ing into vector accumulators; scales are applied once
 * per group. A matrix-matrix product (prefill) is compute-bound, so it dequantizes a tile of
 * four rows × one input chunk into a small float scratch (L1) once and reuses it across all T
 * input rows, whose chunk stays in L2 (see {@link grokkit.quant.kernels.SegmentMatrix#matmul}).
 */
package grokkit.quant.kernels;
