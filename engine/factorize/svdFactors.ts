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

/** How a weight is stored: 'in-out' is W [in, out] row-major; 'out-in' its transpose, as Conv and Gemm(transB) keep it. */
export type WeightLayout = 'in-out' | 'out-in';

/**
 * SVD of W [in, out] through the eigen-decomposition of its smaller Gram matrix, as engine/linalg's svd
 * but a block of W at a time: the other side's vectors times the singular value come from products of
 * float64 blocks of W with the eigenvectors, and s_i is the norm of each (accurate to eps * s_max, where
 * the square root of a Gram eigenvalue is only accurate to sqrt(eps) * s_max). W is read as stored
 * (`layout`): no transposed copy of it is made. Singular vectors of exactly zero singular values are
 * left zero (the factors scale them by zero).
 */
export async function svdBasis(weight: Float32Array | Float64Array, inFeatures: number, outFeatures: number, layout: WeightLayout = 'in-out', elementsPerBlock = blockElements): Promise<SvdBasis> {
  const [n, m] = [inFeatures, outFeatures];
  const k = Math.min(n, m);
  const tall = n >= m;
  const stored = layout === 'in-out' ? { rows: n, cols: m } : { rows: m, cols: n };
  // V (m x k) of W^T W when tall, U (n x k) of W W^T when wide: the Gram matrix of the stored rows or columns
  const gramSide = tall === (layout === 'in-out') ? 'cols' : 'rows';
  const eig = await symmetricEigen(await gram(weight, stored.rows, stored.cols, gramSide), k);
  const scaled = new Float32Array((tall ? n : m) * k); // tall: U S [n, k]; wide: (S V^T)^T [m, k]
  const squares = new Float64Array(k);
  // tall: rows of W ([count, m]); wide: columns of W, transposed ([count, n])
  const [length, inner] = tall ? [n, m] : [m, n];
  const perBlock = Math.max(1, Math.floor(elementsPerBlock / inner));
  const contiguous = tall === (layout === 'in-out'); // the blocks are stored rows, or gathered from its columns
  const width = stored.cols;
  for (let first = 0; first < length; first += perBlock) {
    const count = Math.min(perBlock, length - first);
    const block = new Float64Array(count * inner);
    if (contiguous) block.set(weight.subarray(first * width, (first + count) * width));
    else for (let j = 0; j < inner; j++) for (let i = 0; i < count; i++) block[i * inner + j] = weight[j * width + first + i]!;
    accumulate(await gemm(block, eig.vectors, count, inner, k), count, k, first, scaled, squares);
  }
  const norms = squares.map(Math.sqrt);
  const order = Int32Array.from({ length: k }, (_, i) => i).sort((a, b) => norms[b]! - norms[a]!);
  const singularValues = Float64Array.from(order, (j) => norms[j]!);
  reorderColumns(scaled, k, order, norms); // in place: VGG-16 fc6's vectors are 0.4 GB
  const fromEigen = Float32Array.from(eig.vectors.subarray(0, (tall ? m : n) * k));
  reorderColumns(fromEigen, k, order);
  return tall
    ? { inFeatures, outFeatures, singularValues, u: scaled, vt: transposeValues(fromEigen, [m, k], [1, 0]) }
    : { inFeatures, outFeatures, singularValues, u: fromEigen, vt: transposeValues(scaled, [m, k], [1, 0]) };
}

/** Puts the columns of a row-major [rows, k] matrix in `order` (column j of the result: column order[j]), each divided by its norm when given, in place. */
function reorderColumns(matrix: Float32Array, k: number, order: Int32Array, norms?: Float64Array): void {
  const row = new Float32Array(k);
  for (let start = 0; start < matrix.length; start += k) {
    for (let j = 0; j < k; j++) {
      const src = order[j]!;
      const norm = norms ? norms[src]! : 1;
      row[j] = norm > 0 ? matrix[start + src]! / norm : 0;
    }
    matrix.set(row, start);
  }
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
