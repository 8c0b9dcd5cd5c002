// Two-factor SVD of a weight used as y = x W, W [in, out]: W ~ (U_r sqrt(S_r)) (sqrt(S_r) V_r^T), the
// singular values split evenly between the factors. The SVD itself is engine/linalg's.
import { svd } from '../linalg/svd';
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

/** SVD of W [in, out] (row-major). */
export async function svdBasis(weight: Float32Array | Float64Array, inFeatures: number, outFeatures: number): Promise<SvdBasis> {
  const decomposition = await svd(weight, inFeatures, outFeatures, { orthonormalTail: false });
  return { inFeatures, outFeatures, singularValues: decomposition.s, u: Float32Array.from(decomposition.u), vt: Float32Array.from(decomposition.vt) };
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
