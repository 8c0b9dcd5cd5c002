// Row-major matrix products for engine/linalg: plain JavaScript below a size where onnxruntime's call
// overhead (~50 us) dominates, onnxruntime's Gemm above it.
import { ortGemm, type FloatMatrix, type GemmOptions } from './ortGemm';

/** Products with fewer multiply-adds than this run in JavaScript. */
export const SMALL_GEMM_MACS = 32 * 32 * 32;

/** C (m x n) = op(A) op(B) (see GemmOptions); small products in JavaScript, the rest in onnxruntime. */
export async function gemm<T extends FloatMatrix>(a: T, b: T, m: number, k: number, n: number, options: GemmOptions = {}): Promise<T> {
  if (m * k * n >= SMALL_GEMM_MACS) return ortGemm(a, b, m, k, n, options);
  const out = (options.out ?? (a instanceof Float32Array ? new Float32Array(m * n) : new Float64Array(m * n))) as T;
  gemmJs(a, b, out, m, k, n, options.transA ?? false, options.transB ?? false);
  return out;
}

/** C = op(A) op(B) in plain JavaScript (float64 accumulation), row-major. */
export function gemmJs(a: FloatMatrix, b: FloatMatrix, c: FloatMatrix, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = transA ? a[p * m + i]! : a[i * k + p]!;
      if (aip === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) row[j]! += aip * b[j * k + p]!;
      } else {
        const o = p * n;
        for (let j = 0; j < n; j++) row[j]! += aip * b[o + j]!;
      }
    }
    c.set(row, i * n);
  }
}
