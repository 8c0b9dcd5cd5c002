// Helpers of the engine/linalg tests: seeded matrices with a chosen spectrum and the error measures
// (residual, orthogonality, reconstruction) the tests assert on, computed in plain float64 loops.
import { NormalRandom } from '../../../engine/linalg/random';

/** A seeded Gaussian matrix (rows x cols, row-major). */
export function gaussian(rows: number, cols: number, seed: number): Float64Array {
  const m = new Float64Array(rows * cols);
  new NormalRandom(seed).fillNormal(m);
  return m;
}

/** Q R of a square Gaussian matrix by modified Gram-Schmidt: a random orthogonal n x n matrix (columns). */
export function randomOrthogonal(n: number, seed: number): Float64Array {
  const q = gaussian(n, n, seed); // columns are orthonormalized in place
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + p]! * q[i * n + j]!;
        for (let i = 0; i < n; i++) q[i * n + j]! -= dot * q[i * n + p]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * n + j]! ** 2;
    for (let i = 0; i < n; i++) q[i * n + j]! /= Math.sqrt(norm);
  }
  return q;
}

/** Q diag(values) Q^T for a random orthogonal Q: a symmetric matrix with exactly this spectrum. */
export function withSpectrum(values: readonly number[], seed: number): Float64Array {
  const n = values.length;
  const q = randomOrthogonal(n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k]! * values[k]! * q[j * n + k]!;
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  }
  return a;
}

/** A random symmetric matrix with Gaussian entries. */
export function randomSymmetric(n: number, seed: number): Float64Array {
  const g = gaussian(n, n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = (g[i * n + j]! + g[j * n + i]!) / 2;
  return a;
}

/** Frobenius norm. */
export function frobenius(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** ||A V - V diag(w)||_F / ||A||_F for V with the eigenvectors as columns (row-major n x n). */
export function eigenResidual(a: Float64Array, n: number, w: Float64Array, v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let av = 0;
      for (let k = 0; k < n; k++) av += a[i * n + k]! * v[k * n + j]!;
      s += (av - v[i * n + j]! * w[j]!) ** 2;
    }
  }
  const norm = frobenius(a);
  return norm === 0 ? Math.sqrt(s) : Math.sqrt(s) / norm;
}

/** max |C^T C - I| over the c columns of the row-major r x c matrix. */
export function columnOrthogonality(m: Float64Array, r: number, c: number): number {
  let worst = 0;
  for (let p = 0; p < c; p++) {
    for (let q = 0; q <= p; q++) {
      let dot = 0;
      for (let i = 0; i < r; i++) dot += m[i * c + p]! * m[i * c + q]!;
      worst = Math.max(worst, Math.abs(dot - (p === q ? 1 : 0)));
    }
  }
  return worst;
}

/** max |R R^T - I| over the r rows of the row-major r x c matrix. */
export function rowOrthogonality(m: Float64Array, r: number, c: number): number {
  let worst = 0;
  for (let p = 0; p < r; p++) {
    for (let q = 0; q <= p; q++) {
      let dot = 0;
      for (let j = 0; j < c; j++) dot += m[p * c + j]! * m[q * c + j]!;
      worst = Math.max(worst, Math.abs(dot - (p === q ? 1 : 0)));
    }
  }
  return worst;
}

/** ||A - U[:, :r] diag(s[:r]) Vt[:r, :]||_F for a thin SVD of rank k (u: rows x k, vt: k x cols). */
export function truncationError(a: ArrayLike<number>, rows: number, cols: number, u: Float64Array, s: Float64Array, vt: Float64Array, k: number, r: number): number {
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let x = 0;
      for (let t = 0; t < r; t++) x += u[i * k + t]! * s[t]! * vt[t * cols + j]!;
      sum += (a[i * cols + j]! - x) ** 2;
    }
  }
  return Math.sqrt(sum);
}
