// Tucker-2 of a conv weight W[Cout, Cin, K] (K = kernel elements) along its two channel modes:
// HOSVD from the eigen-decompositions of the mode Gram matrices, optionally refined by HOOI. The full
// rotated core gives the exact reconstruction error of every equal rank at once:
// ||W - W_r||^2 = ||W||^2 - ||core[:r_out, :r_in]||^2 (orthogonal projections).
import { gemm } from '../linalg/gemm';
import { gram } from '../linalg/gram';
import { symmetricEigen } from '../linalg/symmetricEigen';
import type { TuckerFactors } from './layerFactors';

/** The HOSVD of one conv weight: both mode bases and the fully rotated core, float64. */
export interface TuckerBasis {
  readonly outChannels: number;
  readonly inChannels: number;
  readonly kernelElements: number;
  /** Eigenvalues of the output-mode Gram matrix (squared mode singular values), descending. */
  readonly outSpectrum: Float64Array;
  readonly inSpectrum: Float64Array;
  /** Basis vectors as rows: outVectors[a * Cout + o] = U_out[o, a]. */
  readonly outVectors: Float64Array;
  readonly inVectors: Float64Array;
  /** U_out^T W U_in as [Cout, Cin, K]. */
  readonly core: Float64Array;
  /** ||W||_F^2. */
  readonly energy: number;
}

/** What the factors of every rank need from a basis (a search keeps this for each layer, not the core). */
export type TuckerVectors = Omit<TuckerBasis, 'core' | 'energy'>;

/** HOSVD of W[Cout, Cin, K] (row-major). */
export async function tuckerBasis(weight: Float32Array | Float64Array, outChannels: number, inChannels: number, kernelElements: number): Promise<TuckerBasis> {
  const w = Float64Array.from(weight);
  const wIn = permuteFirstTwo(w, outChannels, inChannels, kernelElements); // [Cin, Cout, K]
  const [outEigen, inEigen] = [await modeEigen(w, outChannels, inChannels * kernelElements), await modeEigen(wIn, inChannels, outChannels * kernelElements)];
  const core = await rotate(w, outEigen.vectors, inEigen.vectors, outChannels, inChannels, kernelElements, outChannels, inChannels);
  return {
    outChannels,
    inChannels,
    kernelElements,
    outSpectrum: outEigen.values.map((v) => Math.max(v, 0)),
    inSpectrum: inEigen.values.map((v) => Math.max(v, 0)),
    outVectors: outEigen.vectors,
    inVectors: inEigen.vectors,
    core,
    energy: w.reduce((sum, v) => sum + v * v, 0),
  };
}

/** Relative reconstruction error ||W - W_r|| / ||W|| for equal ranks r = 1..max (index r - 1). */
export function tuckerErrorByRank(basis: TuckerBasis): Float64Array {
  const { outChannels: co, inChannels: ci, kernelElements: k, core, energy } = basis;
  const blockEnergy = new Float64Array((co + 1) * (ci + 1)); // prefix sums over (r_out, r_in)
  for (let a = 0; a < co; a++) {
    for (let b = 0; b < ci; b++) {
      let cell = 0;
      for (let t = 0; t < k; t++) cell += (core[(a * ci + b) * k + t] ?? 0) ** 2;
      blockEnergy[(a + 1) * (ci + 1) + b + 1] = cell + (blockEnergy[a * (ci + 1) + b + 1] ?? 0) + (blockEnergy[(a + 1) * (ci + 1) + b] ?? 0) - (blockEnergy[a * (ci + 1) + b] ?? 0);
    }
  }
  const maxRank = Math.max(co, ci);
  const errors = new Float64Array(maxRank);
  for (let r = 1; r <= maxRank; r++) {
    const kept = blockEnergy[Math.min(r, co) * (ci + 1) + Math.min(r, ci)] ?? 0;
    errors[r - 1] = energy > 0 ? Math.sqrt(Math.max(0, energy - kept) / energy) : 0;
  }
  return errors;
}

/** Factors at ranks (r_in, r_out) from the HOSVD basis, refined by `hooiIterations` HOOI sweeps. */
export async function tuckerFactors(weight: Float32Array | Float64Array, basis: TuckerVectors, rankIn: number, rankOut: number, hooiIterations = 0): Promise<TuckerFactors> {
  const { outChannels: co, inChannels: ci, kernelElements: k } = basis;
  let outRows = basis.outVectors.subarray(0, rankOut * co);
  let inRows = basis.inVectors.subarray(0, rankIn * ci);
  const w = Float64Array.from(weight);
  for (let sweep = 0; sweep < hooiIterations; sweep++) {
    const projectedIn = await rotate(w, identityRows(co), inRows, co, ci, k, co, rankIn); // [Cout, r_in, K]
    outRows = (await modeEigen(projectedIn, co, rankIn * k)).vectors.slice(0, rankOut * co);
    const projectedOut = await rotate(w, outRows, identityRows(ci), co, ci, k, rankOut, ci); // [r_out, Cin, K]
    inRows = (await modeEigen(permuteFirstTwo(projectedOut, rankOut, ci, k), ci, rankOut * k)).vectors.slice(0, rankIn * ci);
  }
  const core = await rotate(w, outRows, inRows, co, ci, k, rankOut, rankIn);
  const lastCR = new Float32Array(co * rankOut);
  for (let o = 0; o < co; o++) for (let a = 0; a < rankOut; a++) lastCR[o * rankOut + a] = outRows[a * co + o] ?? 0;
  return { kind: 'tucker2', rankIn, rankOut, firstRC: Float32Array.from(inRows), core: Float32Array.from(core), lastCR };
}

/** Eigen-decomposition of the Gram matrix A A^T of a row-major [rows, cols] matrix; eigenvectors as rows, descending. */
async function modeEigen(unfolded: Float64Array, rows: number, cols: number): Promise<{ values: Float64Array; vectors: Float64Array }> {
  const eigen = await symmetricEigen(await gram(unfolded, rows, cols, 'rows'), rows);
  return { values: eigen.values, vectors: eigenvectorRows(eigen.vectors, rows) };
}

/** symmetricEigen gives the eigenvectors as columns (numpy's convention); this code works on rows. */
export function eigenvectorRows(columns: Float64Array, n: number): Float64Array {
  const rows = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rows[j * n + i] = columns[i * n + j] ?? 0;
  return rows;
}

/** core[a, b, k] = sum_{o, i} outRows[a, o] W[o, i, k] inRows[b, i], for the first rOut / rIn rows. */
async function rotate(w: Float64Array, outRows: Float64Array, inRows: Float64Array, co: number, ci: number, k: number, rOut: number, rIn: number): Promise<Float64Array> {
  const left = await gemm(outRows.subarray(0, rOut * co), w, rOut, co, ci * k); // [rOut, Cin, K]
  const byIn = permuteFirstTwo(left, rOut, ci, k); // [Cin, rOut, K]
  const both = await gemm(inRows.subarray(0, rIn * ci), byIn, rIn, ci, rOut * k); // [rIn, rOut, K]
  return permuteFirstTwo(both, rIn, rOut, k);
}

/** [A, B, K] -> [B, A, K] for a row-major tensor. */
function permuteFirstTwo(values: Float64Array, a: number, b: number, k: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(values.subarray((i * b + j) * k, (i * b + j + 1) * k), (j * a + i) * k);
  return out;
}

function identityRows(n: number): Float64Array {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return eye;
}
