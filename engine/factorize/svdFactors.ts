// Two-factor SVD of a weight used as y = x W, W [in, out]: W ~ (U_r sqrt(S_r)) (sqrt(S_r) V_r^T), the
// singular values split evenly between the factors. The SVD is engine/linalg's method (the smaller Gram
// matrix's eigen-decomposition), done a block of the weight at a time.
import { gemm } from '../linalg/gemm';
import { gram } from '../linalg/gram';
import { symmetricEigen } from '../linalg/symmetricEigen';
import { transposeValues } from '../onnx/constTensor';
import type { SvdFactors } from './layerFactors';

/**
 * The full SVD of a weight W [in, out], kept for every rank. The singular vectors are kept in float32
 * (the factors are float32): in float64 VGG-16's fc6 alone held 0.9 GB of them.
 */
export interface SvdBasis {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Singular values, descending (k = min(in, out)). */
  readonly singularValues: Float64Array;
  /** U [in, k], row-major. */
  readonly u: Float32Array;
  /** V^T [k, out], row-major. */
  readonly vt: Float32Array;
}

/** Elements of W converted to float64 for one product of svdBasis (64 MB): what bounds its transient memory. */
const blockElements = 8 * 2 ** 20;

/**
 * SVD of W [in, out] (row-major) through the eigen-decomposition of its smaller Gram matrix, as
 * engine/linalg's svd but a block of W at a time: the other side's vectors times the singular value
 * come from products of float64 blocks of W with the eigenvectors, and s_i is the norm of each (accurate
 * to eps * s_max, where the square root of a Gram eigenvalue is only accurate to sqrt(eps) * s_max).
 * Singular vectors of exactly zero singular values are left zero (the factors scale them by zero).
 */
export async function svdBasis(weight: Float32Array | Float64Array, inFeatures: number, outFeatures: number): Promise<SvdBasis> {
  const [n, m] = [inFeatures, outFeatures];
  const k = Math.min(n, m);
  const tall = n >= m;
  // columns: V (m x k) of W^T W when tall, U (n x k) of W W^T when wide
  const eig = await symmetricEigen(await gram(weight, n, m, tall ? 'cols' : 'rows'), k);
  const scaled = new Float32Array((tall ? n : m) * k); // tall: U S [n, k]; wide: (S V^T)^T [m, k]
  const squares = new Float64Array(k);
  if (tall) {
    const rowsPerBlock = Math.max(1, Math.floor(blockElements / m));
    for (let r0 = 0; r0 < n; r0 += rowsPerBlock) {
      const rows = Math.min(rowsPerBlock, n - r0);
      const product = await gemm(Float64Array.from(weight.subarray(r0 * m, (r0 + rows) * m)), eig.vectors, rows, m, k);
      accumulate(product, rows, k, r0, scaled, squares);
    }
  } else {
    const colsPerBlock = Math.max(1, Math.floor(blockElements / n));
    for (let c0 = 0; c0 < m; c0 += colsPerBlock) {
      const cols = Math.min(colsPerBlock, m - c0);
      const block = new Float64Array(n * cols); // W[:, c0:c0+cols]^T: cols x n
      for (let i = 0; i < n; i++) for (let c = 0; c < cols; c++) block[c * n + i] = weight[i * m + c0 + c]!;
      const product = await gemm(block, eig.vectors, cols, n, k); // W^T U: cols x k
      accumulate(product, cols, k, c0, scaled, squares);
    }
  }
  const norms = squares.map(Math.sqrt);
  const order = Int32Array.from({ length: k }, (_, i) => i).sort((a, b) => norms[b]! - norms[a]!);
  const singularValues = Float64Array.from(order, (j) => norms[j]!);
  const fromScaled = new Float32Array(scaled.length); // columns in order, divided by their norm
  const rows = scaled.length / Math.max(1, k);
  for (let i = 0; i < rows; i++) order.forEach((src, dst) => (fromScaled[i * k + dst] = norms[src]! > 0 ? scaled[i * k + src]! / norms[src]! : 0));
  const fromEigen = new Float32Array((tall ? m : n) * k); // the eigenvector columns in the same order
  for (let i = 0; i < fromEigen.length / Math.max(1, k); i++) order.forEach((src, dst) => (fromEigen[i * k + dst] = eig.vectors[i * k + src]!));
  return tall
    ? { inFeatures, outFeatures, singularValues, u: fromScaled, vt: transposeValues(fromEigen, [m, k], [1, 0]) }
    : { inFeatures, outFeatures, singularValues, u: fromEigen, vt: transposeValues(fromScaled, [m, k], [1, 0]) };
}

/** Copies the product block (count x k, rows first..first+count of the result) into `scaled` and adds its column squares. */
function accumulate(product: Float64Array, count: number, k: number, first: number, scaled: Float32Array, squares: Float64Array): void {
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < k; j++) {
      const v = product[i * k + j]!;
      squares[j]! += v * v;
      scaled[(first + i) * k + j] = v;
    }
  }
}

/** Relative reconstruction error ||W - W_r|| / ||W|| for r = 1..min(in, out) (index r - 1). */
export function svdErrorByRank(basis: SvdBasis): Float64Array {
  const squares = basis.singularValues.map((s) => s * s);
  const total = squares.reduce((a, b) => a + b, 0);
  const errors = new Float64Array(squares.length);
  let tail = total;
  squares.forEach((sq, j) => {
    tail -= sq;
    errors[j] = total > 0 ? Math.sqrt(Math.max(0, tail) / total) : 0;
  });
  return errors;
}

/** Factors at rank r: left [in, r] = U_r sqrt(S_r), right [r, out] = sqrt(S_r) V_r^T. */
export function svdFactors(basis: SvdBasis, rank: number): SvdFactors {
  const { inFeatures: n, outFeatures: m } = basis;
  const { u, vt } = basis;
  const k = basis.singularValues.length;
  const leftIR = new Float32Array(n * rank);
  const rightRO = new Float32Array(rank * m);
  for (let j = 0; j < rank; j++) {
    const scale = Math.sqrt(basis.singularValues[j] ?? 0);
    for (let i = 0; i < n; i++) leftIR[i * rank + j] = (u[i * k + j] ?? 0) * scale;
    for (let o = 0; o < m; o++) rightRO[j * m + o] = (vt[j * m + o] ?? 0) * scale;
  }
  return { kind: 'svd', rank, leftIR, rightRO };
}
