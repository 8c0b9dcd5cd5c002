// Two-factor SVD of a weight used as y = x W, W [in, out]: W ~ (U_r sqrt(S_r)) (sqrt(S_r) V_r^T), the
// singular values split evenly between the factors. The basis comes from the eigen-decomposition of
// the smaller Gram matrix; singular values are the norms of the projected rows, which keeps them
// accurate down to the small ones.
import { gemm } from '../linalg/gemm';
import { symmetricEigen } from '../linalg/symmetricEigen';
import type { SvdFactors } from './layerFactors';
import { eigenvectorRows } from './tucker2';

/** The full SVD of a weight, kept for every rank. */
export interface SvdBasis {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Singular values, descending (min(in, out)). */
  readonly singularValues: Float64Array;
  /** Left singular vectors as rows: leftRows[j * in + i] = U[i, j]. */
  readonly leftRows: Float64Array;
  /** Right singular vectors as rows: rightRows[j * out + o] = V[o, j]. */
  readonly rightRows: Float64Array;
}

/** SVD of W [in, out] (row-major). */
export async function svdBasis(weight: Float32Array | Float64Array, inFeatures: number, outFeatures: number): Promise<SvdBasis> {
  const w = Float64Array.from(weight);
  const small = Math.min(inFeatures, outFeatures);
  const inSide = inFeatures <= outFeatures;
  // Gram of the smaller side: W W^T (in x in) or W^T W (out x out).
  const gram = await gemm(w, w, small, inSide ? outFeatures : inFeatures, small, inSide ? { transB: true } : { transA: true });
  const basis = eigenvectorRows((await symmetricEigen(gram, small)).vectors, small); // rows: unit vectors of the small side
  // Project W on the basis: rows of (basis W) [small, out] or (basis W^T) [small, in] = sigma_j * other vector.
  const projected = await gemm(basis, w, small, inSide ? inFeatures : outFeatures, inSide ? outFeatures : inFeatures, inSide ? {} : { transB: true });
  const otherSize = inSide ? outFeatures : inFeatures;
  const singularValues = new Float64Array(small);
  for (let j = 0; j < small; j++) {
    const row = projected.subarray(j * otherSize, (j + 1) * otherSize);
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    singularValues[j] = norm;
    if (norm > 0) for (let t = 0; t < otherSize; t++) row[t] = (row[t] ?? 0) / norm;
  }
  const order = [...singularValues.keys()].sort((a, b) => (singularValues[b] ?? 0) - (singularValues[a] ?? 0));
  const pick = (rows: Float64Array, size: number): Float64Array => {
    const out = new Float64Array(small * size);
    order.forEach((from, to) => out.set(rows.subarray(from * size, (from + 1) * size), to * size));
    return out;
  };
  return {
    inFeatures,
    outFeatures,
    singularValues: Float64Array.from(order, (j) => singularValues[j] ?? 0),
    leftRows: pick(inSide ? basis : projected, inFeatures),
    rightRows: pick(inSide ? projected : basis, outFeatures),
  };
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
  const leftIR = new Float32Array(n * rank);
  const rightRO = new Float32Array(rank * m);
  for (let j = 0; j < rank; j++) {
    const scale = Math.sqrt(basis.singularValues[j] ?? 0);
    for (let i = 0; i < n; i++) leftIR[i * rank + j] = (basis.leftRows[j * n + i] ?? 0) * scale;
    for (let o = 0; o < m; o++) rightRO[j * m + o] = (basis.rightRows[j * m + o] ?? 0) * scale;
  }
  return { kind: 'svd', rank, leftIR, rightRO };
}
