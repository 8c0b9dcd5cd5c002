// Thin SVD through the eigen-decomposition of the smaller Gram matrix: for rows <= cols,
// A A^T = U diag(s^2) U^T and V^T = diag(1/s) U^T A (otherwise the same on A^T A). The reconstruction
// U diag(s) V^T = U U^T A is exact to working precision at full rank; a singular vector whose value is
// below sqrt(eps) * s_max is less accurate than LAPACK's (the Gram matrix squares the condition
// number) for the vectors, not for the values: s_i is taken as |U_i^T A|, accurate to eps * s_max.
// Singular vectors of numerically zero singular values are made orthonormal to the rest.
import { gemm } from './gemm';
import { gram } from './gram';
import type { FloatMatrix } from './ortGemm';
import { symmetricEigen } from './symmetricEigen';

/** A thin SVD A = U diag(s) V^T with k = min(rows, cols) (or the requested rank). */
export interface Svd {
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
  /** rows x rank, row-major, orthonormal columns. */
  readonly u: Float64Array;
  /** rank singular values, descending. */
  readonly s: Float64Array;
  /** rank x cols, row-major, orthonormal rows. */
  readonly vt: Float64Array;
}

/** Options of svd. */
export interface SvdOptions {
  /**
   * Make the singular vectors of tiny singular values orthonormal too (default true). Without it
   * those vectors are only unit length: U diag(s) V^T is still exact, which is all a factorization
   * needs, and a 4096 x 4096 weight is decomposed in seconds instead of minutes.
   */
  readonly orthonormalTail?: boolean;
}

/** The thin SVD of the row-major rows x cols `matrix` (float32 or float64). */
export async function svd(matrix: FloatMatrix, rows: number, cols: number, options: SvdOptions = {}): Promise<Svd> {
  const complete = options.orthonormalTail ?? true;
  const k = Math.min(rows, cols);
  if (k === 0) return { rows, cols, rank: 0, u: new Float64Array(0), s: new Float64Array(0), vt: new Float64Array(0) };
  const wide = rows <= cols;
  const g = await gram(matrix, rows, cols, wide ? 'rows' : 'cols');
  const eig = await symmetricEigen(g, k); // columns: the left (wide) or right singular vectors
  let a64: Float64Array | null = matrix instanceof Float64Array ? matrix : Float64Array.from(matrix.subarray(0, rows * cols));
  const eps = matrix instanceof Float64Array ? Number.EPSILON : 2 ** -23;
  // Memory: W (k x the longer side, float64) and one more matrix its size at a time; the float64 copy
  // of a float32 input is let go once W is made (VGG-16's fc6: 0.8 GB each).
  if (wide) {
    // W = U^T A (k x cols); s_i = |W_i| and V^T rows = W_i / s_i
    const w = await gemm(eig.vectors, a64, k, rows, cols, { transA: true });
    a64 = null;
    const { s, order } = normalizeRows(w, k, cols, eps, complete);
    return { rows, cols, rank: k, u: permuteColumns(eig.vectors, rows, k, order), s, vt: permuteRows(w, cols, order) };
  }
  // W = V^T A^T (k x rows); s_i = |W_i| and U^T rows = W_i / s_i
  const w = await gemm(eig.vectors, a64, k, cols, rows, { transA: true, transB: true });
  a64 = null;
  const { s, order } = normalizeRows(w, k, rows, eps, complete);
  return { rows, cols, rank: k, u: permutedTranspose(w, rows, order), s, vt: transposed(permuteColumns(eig.vectors, cols, k, order), cols, k) };
}

/**
 * Turns the rows of W = U^T A (k x len) into unit rows and returns their norms as the singular values
 * (|U_i^T A| is accurate to eps * s_max, where sqrt of the Gram eigenvalue is only accurate to
 * sqrt(eps) * s_max). Rows whose norm is below sqrt(eps * len) * s_max are made orthogonal to the
 * others first (Gram-Schmidt, twice), and completed from unit vectors when nothing is left of them.
 * Returns the singular values in descending order and the permutation that sorts them.
 */
export function normalizeRows(w: Float64Array, k: number, len: number, eps: number, orthonormalTail = true): { s: Float64Array; order: Int32Array } {
  const norms = new Float64Array(k);
  for (let i = 0; i < k; i++) norms[i] = rowNorm(w, i, len);
  const sMax = Math.max(0, ...norms);
  // Without the orthonormal tail only exact zeros are left as they are (zero rows, zero values).
  const floor = orthonormalTail ? sMax * Math.sqrt(eps * Math.max(len, k)) : 0;
  const done: number[] = [];
  for (let i = 0; i < k; i++) {
    if (norms[i]! > floor && norms[i]! > 0) {
      scaleRow(w, i, len, 1 / norms[i]!);
      done.push(i);
    }
  }
  for (let i = 0; i < k && orthonormalTail; i++) {
    if (norms[i]! > floor && norms[i]! > 0) continue;
    const original = w.slice(i * len, (i + 1) * len);
    for (let attempt = 0; attempt <= len; attempt++) {
      if (attempt > 0) {
        w.fill(0, i * len, (i + 1) * len);
        w[i * len + ((i + attempt - 1) % len)] = 1;
      }
      for (let pass = 0; pass < 2; pass++) for (const j of done) axpyRow(w, i, j, len, -dotRows(w, i, j, len));
      const norm = rowNorm(w, i, len);
      if (norm > (attempt === 0 ? 0.5 * norms[i]! : 0.5) && norm > 0) {
        scaleRow(w, i, len, 1 / norm);
        break;
      }
    }
    let s = 0;
    for (let t = 0; t < len; t++) s += original[t]! * w[i * len + t]!;
    if (s < 0) scaleRow(w, i, len, -1);
    norms[i] = Math.abs(s);
    done.push(i);
  }
  const order = Int32Array.from({ length: k }, (_, i) => i).sort((a, b) => norms[b]! - norms[a]!);
  return { s: Float64Array.from(order, (i) => norms[i]!), order };
}

function rowNorm(w: Float64Array, i: number, len: number): number {
  let s = 0;
  for (let t = i * len; t < (i + 1) * len; t++) s += w[t]! * w[t]!;
  return Math.sqrt(s);
}

function scaleRow(w: Float64Array, i: number, len: number, f: number): void {
  for (let t = i * len; t < (i + 1) * len; t++) w[t]! *= f;
}

function dotRows(w: Float64Array, i: number, j: number, len: number): number {
  let s = 0;
  for (let t = 0; t < len; t++) s += w[i * len + t]! * w[j * len + t]!;
  return s;
}

function axpyRow(w: Float64Array, i: number, j: number, len: number, f: number): void {
  for (let t = 0; t < len; t++) w[i * len + t]! += f * w[j * len + t]!;
}

/** Rows of the row-major (order.length x len) `m` in the given order. */
export function permuteRows(m: Float64Array, len: number, order: Int32Array): Float64Array {
  const out = new Float64Array(order.length * len);
  order.forEach((src, dst) => out.set(m.subarray(src * len, (src + 1) * len), dst * len));
  return out;
}

/** Columns of the row-major r x c `m` in the given order. */
export function permuteColumns(m: Float64Array, r: number, c: number, order: Int32Array): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i * c + j] = m[i * c + order[j]!]!;
  return out;
}

/** The transpose of permuteRows(m, len, order): len x order.length, column j = row order[j] of m. */
export function permutedTranspose(m: Float64Array, len: number, order: Int32Array): Float64Array {
  const k = order.length;
  const out = new Float64Array(len * k);
  order.forEach((src, dst) => {
    for (let t = 0; t < len; t++) out[t * k + dst] = m[src * len + t]!;
  });
  return out;
}

/** The transpose of the row-major r x c `m`. */
export function transposed(m: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = m[i * c + j]!;
  return t;
}
