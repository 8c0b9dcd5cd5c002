// Gram matrices A A^T and A^T A: onnxruntime's Gemm (float32 inputs accumulate in float32, float64
// in float64) for anything but tiny sizes, then float64 and exactly symmetric.
import { gemmJs, SMALL_GEMM_MACS } from './gemm';
import { ortGemm, type FloatMatrix } from './ortGemm';

/** 'rows': A A^T (rows x rows, the Gram matrix of the rows); 'cols': A^T A (cols x cols). */
export type GramSide = 'rows' | 'cols';

/** The Gram matrix of the row-major rows x cols `matrix` on `side`, as a float64 row-major array. */
export async function gram(matrix: FloatMatrix, rows: number, cols: number, side: GramSide): Promise<Float64Array> {
  if (matrix.length < rows * cols) throw new RangeError(`gram: expected ${rows * cols} values, got ${matrix.length}`);
  const size = side === 'rows' ? rows : cols;
  const inner = side === 'rows' ? cols : rows;
  const out = new Float64Array(size * size);
  if (size === 0) return out;
  if (size * size * inner < SMALL_GEMM_MACS) {
    gemmJs(matrix, matrix, out, size, inner, size, side === 'cols', side === 'rows');
    return symmetrize(out, size);
  }
  const product = await ortGemm(matrix, matrix, size, inner, size, side === 'rows' ? { transB: true } : { transA: true });
  out.set(product);
  return symmetrize(out, size);
}

/** (G + G^T) / 2 in place: the product is symmetric up to the rounding of its two triangles. */
function symmetrize(g: Float64Array, n: number): Float64Array {
  const B = 32; // in tiles, so that the transposed accesses stay in cache
  for (let i0 = 0; i0 < n; i0 += B) {
    for (let j0 = 0; j0 <= i0; j0 += B) {
      const i1 = Math.min(i0 + B, n);
      for (let i = i0; i < i1; i++) {
        const j1 = Math.min(j0 + B, i);
        for (let j = j0; j < j1; j++) {
          const v = 0.5 * (g[i * n + j]! + g[j * n + i]!);
          g[i * n + j] = v;
          g[j * n + i] = v;
        }
      }
    }
  }
  return g;
}
