// Linear algebra through engine/factorize, checked against reconstructions and against an independent
// cyclic Jacobi eigen-solver written here (float64, for matrices up to 64 x 64): tuckerErrorByRank is
// ~0 at the max rank and equals the measured ||W - W_r|| / ||W|| of the reconstructed float32 factors
// (within 1e-6) at every rank; truncating one mode while keeping the other whole leaves exactly the
// discarded eigenvalues of that mode's Gram matrix (so the bases are the leading eigenvectors); HOOI
// never increases the error of HOSVD at the same ranks; svdErrorByRank equals the reconstruction
// error and the Eckart-Young tail of the singular values; the same holds for real layers through
// layerBasis / factorsAtRank.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { factorsAtRank, layerBasis } from '../../../engine/factorize/layerBasis';
import type { SvdFactors, TuckerFactors } from '../../../engine/factorize/layerFactors';
import { svdBasis, svdErrorByRank, svdFactors } from '../../../engine/factorize/svdFactors';
import { tuckerBasis, tuckerErrorByRank, tuckerFactors } from '../../../engine/factorize/tucker2';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { attributeInt } from '../../../engine/onnx/attributes';
import { transposeValues } from '../../../engine/onnx/constTensor';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { randomFloats, sharedModel } from '../testSupport';

/** Eigenvalues (descending) of a symmetric n x n row-major matrix by cyclic Jacobi rotations. */
function jacobiEigenvalues(matrix: Float64Array, n: number): number[] {
  const a = Float64Array.from(matrix);
  const at = (i: number, j: number): number => a[i * n + j] ?? 0;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += at(i, j) ** 2;
    if (off < 1e-30 * Math.max(1, a.reduce((s, v) => s + v * v, 0))) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [at(k, p), at(k, q)];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [at(p, k), at(q, k)];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => at(i, i)).sort((x, y) => y - x);
}

/** Gram matrix A A^T of a row-major [rows, cols] matrix. */
function gram(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const g = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += (a[i * cols + k] ?? 0) * (a[j * cols + k] ?? 0);
    g[i * rows + j] = s;
  }
  return g;
}

/** Mode Gram eigenvalues of W[Cout, Cin, K]: the out mode ([Cout, Cin*K]) and the in mode ([Cin, Cout*K]). */
function modeSpectra(w: Float32Array, co: number, ci: number, k: number): { out: number[]; in: number[] } {
  const wIn = new Float64Array(w.length);
  for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) for (let t = 0; t < k; t++) wIn[(i * co + o) * k + t] = w[(o * ci + i) * k + t] ?? 0;
  return { out: jacobiEigenvalues(gram(w, co, ci * k), co), in: jacobiEigenvalues(gram(wIn, ci, co * k), ci) };
}

/** W_r = U_out core U_in^T from Tucker-2 factors, float64. */
function reconstructTucker(f: TuckerFactors, co: number, ci: number, k: number): Float64Array {
  const w = new Float64Array(co * ci * k);
  for (let o = 0; o < co; o++) for (let a = 0; a < f.rankOut; a++) {
    const u = f.lastCR[o * f.rankOut + a] ?? 0;
    for (let b = 0; b < f.rankIn; b++) for (let t = 0; t < k; t++) {
      const c = (f.core[(a * f.rankIn + b) * k + t] ?? 0) * u;
      for (let i = 0; i < ci; i++) w[(o * ci + i) * k + t] = (w[(o * ci + i) * k + t] ?? 0) + c * (f.firstRC[b * ci + i] ?? 0);
    }
  }
  return w;
}

/** W_r = left right from SVD factors, float64. */
function reconstructSvd(f: SvdFactors, n: number, m: number): Float64Array {
  const w = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < f.rank; j++) {
    const l = f.leftIR[i * f.rank + j] ?? 0;
    for (let o = 0; o < m; o++) w[i * m + o] = (w[i * m + o] ?? 0) + l * (f.rightRO[j * m + o] ?? 0);
  }
  return w;
}

function relativeError(w: ArrayLike<number>, approx: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < w.length; i++) {
    d += ((w[i] ?? 0) - (approx[i] ?? 0)) ** 2;
    n += (w[i] ?? 0) ** 2;
  }
  return Math.sqrt(d / n);
}

/** sqrt(sum of the values after the first r / sum of all). */
function tailError(values: readonly number[], r: number): number {
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0);
  return Math.sqrt(Math.max(0, values.slice(r).reduce((s, v) => s + Math.max(v, 0), 0)) / total);
}

/** A weight with a decaying spectrum (low-rank structure plus noise), so truncation errors differ per rank. */
function structuredWeight(co: number, ci: number, k: number, seed: number): Float32Array {
  const w = randomFloats(co * ci * k, seed).map((v) => 0.05 * v);
  const u = randomFloats(co * 3, seed + 1);
  const v = randomFloats(ci * k * 3, seed + 2);
  for (let o = 0; o < co; o++) for (let j = 0; j < ci * k; j++) for (let r = 0; r < 3; r++) w[o * ci * k + j] = (w[o * ci * k + j] ?? 0) + (u[o * 3 + r] ?? 0) * (v[j * 3 + r] ?? 0) / (r + 1);
  return w;
}

const tuckerShapes: [number, number, number][] = [
  [16, 12, 9], // Cout > Cin
  [12, 16, 9],
  [2, 64, 9], // max rank 18 < Cin: the in-mode Gram is rank deficient
  [64, 2, 9],
  [8, 8, 25],
  [3, 40, 4],
];

describe('factorize: linear algebra sanity (Tucker-2 and SVD, against reconstructions and a Jacobi solver)', function () {
  for (const [co, ci, k] of tuckerShapes) {
    const maxRank = Math.max(Math.min(ci, co * k), Math.min(co, ci * k));
    it(`Tucker-2 W[${co}, ${ci}, ${k}]: errorByRank ~0 at the max rank ${maxRank} and = measured error (1e-6) at every rank; each mode's truncation leaves exactly its discarded Gram eigenvalues`, async function () {
      const w = structuredWeight(co, ci, k, co * 1000 + ci);
      const basis = await tuckerBasis(w, co, ci, k);
      const errors = tuckerErrorByRank(basis);
      assert.ok((errors[maxRank - 1] ?? 1) < 1e-6, `error at the max rank: ${errors[maxRank - 1]}`);
      for (let r = 1; r <= maxRank; r++) {
        const f = await tuckerFactors(w, basis, Math.min(r, ci), Math.min(r, co));
        const measured = relativeError(w, reconstructTucker(f, co, ci, k));
        assert.ok(Math.abs(measured - (errors[r - 1] ?? NaN)) < 1e-6, `rank ${r}: errorByRank ${errors[r - 1]} vs measured ${measured}`);
      }
      const spectra = modeSpectra(w, co, ci, k);
      for (let r = 1; r <= ci; r++) {
        const f = await tuckerFactors(w, basis, r, co); // out mode whole
        const measured = relativeError(w, reconstructTucker(f, co, ci, k));
        assert.ok(Math.abs(measured - tailError(spectra.in, r)) < 1e-6, `in-mode rank ${r} (out mode whole): measured ${measured} vs Jacobi tail ${tailError(spectra.in, r)}`);
      }
      for (let r = 1; r <= co; r++) {
        const f = await tuckerFactors(w, basis, ci, r); // in mode whole
        const measured = relativeError(w, reconstructTucker(f, co, ci, k));
        assert.ok(Math.abs(measured - tailError(spectra.out, r)) < 1e-6, `out-mode rank ${r} (in mode whole): measured ${measured} vs Jacobi tail ${tailError(spectra.out, r)}`);
      }
      const total = w.reduce((s, v) => s + v * v, 0);
      [...spectra.in].forEach((v, i) => assert.ok(Math.abs(v - (basis.inSpectrum[i] ?? NaN)) < 1e-9 * total, `in spectrum ${i}: ${basis.inSpectrum[i]} vs Jacobi ${v}`));
      [...spectra.out].forEach((v, i) => assert.ok(Math.abs(v - (basis.outSpectrum[i] ?? NaN)) < 1e-9 * total, `out spectrum ${i}: ${basis.outSpectrum[i]} vs Jacobi ${v}`));
    });
  }

  it('HOOI never increases the error of HOSVD at the same ranks (equal and unequal ranks, 1-5 sweeps)', async function () {
    for (const [co, ci, k] of tuckerShapes) {
      const w = structuredWeight(co, ci, k, 7 + co + ci);
      const basis = await tuckerBasis(w, co, ci, k);
      const pairs: [number, number][] = [[1, 1], [2, 3], [Math.ceil(ci / 2), Math.ceil(co / 2)], [Math.max(1, ci - 1), Math.max(1, co - 2)]];
      for (const [rIn, rOut] of pairs) {
        const hosvd = relativeError(w, reconstructTucker(await tuckerFactors(w, basis, Math.min(rIn, ci), Math.min(rOut, co)), co, ci, k));
        let previous = hosvd;
        for (const sweeps of [1, 2, 5]) {
          const hooi = relativeError(w, reconstructTucker(await tuckerFactors(w, basis, Math.min(rIn, ci), Math.min(rOut, co), sweeps), co, ci, k));
          assert.ok(hooi <= hosvd + 1e-7, `W[${co}, ${ci}, ${k}] ranks (${rIn}, ${rOut}): HOOI ${sweeps} sweeps ${hooi} > HOSVD ${hosvd}`);
          assert.ok(hooi <= previous + 1e-7, `W[${co}, ${ci}, ${k}] ranks (${rIn}, ${rOut}): ${sweeps} sweeps ${hooi} > fewer sweeps ${previous}`);
          previous = hooi;
        }
      }
    }
  });

  for (const [n, m, rank] of [[20, 30, 20], [30, 20, 20], [24, 24, 24], [40, 12, 3], [12, 40, 5], [64, 10, 10]] as const) {
    it(`SVD W[${n}, ${m}]${rank < Math.min(n, m) ? ` of rank ${rank}` : ''}: svdErrorByRank = measured error (1e-6) = Eckart-Young tail of a Jacobi spectrum; ~0 from rank ${rank} on`, async function () {
      // W = A B with A [n, rank], B [rank, m] plus nothing: exact rank `rank`.
      const a = randomFloats(n * rank, n + m);
      const b = randomFloats(rank * m, n * m);
      const w = new Float32Array(n * m);
      for (let i = 0; i < n; i++) for (let j = 0; j < rank; j++) for (let o = 0; o < m; o++) w[i * m + o] = (w[i * m + o] ?? 0) + (a[i * rank + j] ?? 0) * (b[j * m + o] ?? 0) / (1 + j);
      const basis = await svdBasis(w, n, m);
      const errors = svdErrorByRank(basis);
      assert.equal(errors.length, Math.min(n, m));
      const wt = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let o = 0; o < m; o++) wt[o * n + i] = w[i * m + o] ?? 0;
      const spectrum = n <= m ? jacobiEigenvalues(gram(w, n, m), n) : jacobiEigenvalues(gram(wt, m, n), m);
      for (let r = 1; r <= Math.min(n, m); r++) {
        const measured = relativeError(w, reconstructSvd(svdFactors(basis, r), n, m));
        assert.ok(Math.abs(measured - (errors[r - 1] ?? NaN)) < 1e-6, `rank ${r}: svdErrorByRank ${errors[r - 1]} vs measured ${measured}`);
        assert.ok(Math.abs(measured - tailError(spectrum, r)) < 1e-6, `rank ${r}: measured ${measured} vs Eckart-Young ${tailError(spectrum, r)}`);
        if (r >= rank) assert.ok((errors[r - 1] ?? 1) < 1e-6, `rank ${r} >= ${rank}: error ${errors[r - 1]}`);
      }
      for (let j = 1; j < basis.singularValues.length; j++) assert.ok((basis.singularValues[j] ?? 0) <= (basis.singularValues[j - 1] ?? 0), 'singular values descending');
      // W stored transposed (as Conv and Gemm(transB) keep it), and blocks of a few rows: the same basis
      const wStoredOutIn = Float32Array.from(wt);
      for (const [layout, stored] of [['in-out', w], ['out-in', wStoredOutIn]] as const) {
        const blocked = await svdBasis(stored, n, m, layout, 2 * Math.max(n, m) + 1);
        for (let j = 0; j < basis.singularValues.length; j++) assert.ok(Math.abs((blocked.singularValues[j] ?? 0) - (basis.singularValues[j] ?? 0)) <= 1e-9 * (basis.singularValues[0] ?? 1), `${layout} in blocks: singular value ${j}`);
        for (let r = 1; r <= Math.min(n, m); r++) {
          const measured = relativeError(w, reconstructSvd(svdFactors(blocked, r), n, m));
          assert.ok(Math.abs(measured - (errors[r - 1] ?? NaN)) < 1e-6, `${layout} in blocks, rank ${r}: error ${measured} vs ${errors[r - 1]}`);
        }
      }
    });
  }

  it('real layers (resnet20 from ../shared/models) through layerBasis / factorsAtRank: errorByRank = measured error, ~0 at the max rank, optimal against the Jacobi spectra', async function () {
    const file = sharedModel('resnet20-cifar10.onnx');
    if (!fs.existsSync(file)) this.skip();
    const model = readOnnxModel(file);
    const analysis = await analyzeModel(model);
    for (const name of ['conv1', 'layer2.0.conv1', 'layer3.2.conv2', 'Gemm#53']) {
      const layer = analysis.layers.find((l) => l.name === name);
      assert.ok(layer?.compressible, `${name} is compressible`);
      const basis = await layerBasis(model, layer);
      const maxRank = layer.maxRank ?? 0;
      // the weight as factorized: Tucker-2 the stored [Cout, Cin, k...]; SVD W [in, out] (a transB Gemm stores [out, in])
      const node = model.graph.node?.[layer.nodeIndex] ?? {};
      const stored = model.constants.get(node.input?.[1] ?? '');
      assert.ok(stored, `${name}: a constant weight`);
      const weight = basis.kind === 'tucker2' ? basis.weight : attributeInt(node, 'transB', 0) === 1 ? transposeValues(stored.toFloat32(), stored.dims, [1, 0]) : stored.toFloat32();
      for (const r of [1, Math.ceil(maxRank / 4), Math.ceil(maxRank / 2), maxRank]) {
        const f = await factorsAtRank(basis, r);
        const [co = 0, ci = 0, ...kernel] = layer.weightShape ?? [];
        const approx = f.kind === 'tucker2' ? reconstructTucker(f, co, ci, kernel.reduce((p, d) => p * d, 1)) : reconstructSvd(f, f.leftIR.length / f.rank, f.rightRO.length / f.rank);
        const measured = relativeError(weight, approx);
        assert.ok(Math.abs(measured - (basis.errorByRank[r - 1] ?? NaN)) < 1e-6, `${name} rank ${r}: errorByRank ${basis.errorByRank[r - 1]} vs measured ${measured}`);
        if (r === maxRank) assert.ok(measured < 1e-6, `${name}: error at the max rank ${measured}`);
      }
      // Optimality against the Jacobi spectra: SVD = Eckart-Young tail; Tucker-2 with the out mode whole = the in mode's tail.
      if (basis.kind === 'svd') {
        const { inFeatures: n, outFeatures: m } = basis.basis;
        const spectrum = jacobiEigenvalues(n <= m ? gram(weight, n, m) : gram(Float64Array.from({ length: n * m }, (_, t) => weight[(t % n) * m + Math.floor(t / n)] ?? 0), m, n), Math.min(n, m));
        for (let r = 1; r <= Math.min(n, m); r++) assert.ok(Math.abs((basis.errorByRank[r - 1] ?? NaN) - tailError(spectrum, r)) < 1e-6, `${name} rank ${r}: ${basis.errorByRank[r - 1]} vs Eckart-Young ${tailError(spectrum, r)}`);
      } else {
        const { outChannels: co, inChannels: ci, kernelElements: k } = basis.basis;
        const spectra = modeSpectra(basis.weight, co, ci, k);
        for (const r of [1, Math.ceil(ci / 2), ci - 1].filter((x) => x >= 1)) {
          const measured = relativeError(basis.weight, reconstructTucker(await tuckerFactors(basis.weight, basis.basis, r, co), co, ci, k));
          assert.ok(Math.abs(measured - tailError(spectra.in, r)) < 1e-6, `${name}: in-mode rank ${r}: ${measured} vs Jacobi tail ${tailError(spectra.in, r)}`);
        }
      }
    }
  });
});
