// Randomized truncated SVD (Halko, Martinsson and Tropp 2011, Algorithms 4.4 and 5.1), written as
// sklearn.utils.extmath.randomized_svd with power_iteration_normalizer='QR' and transpose='auto': a
// wide matrix is handled as its transpose (through the Gemm transpose flags, never copied). All
// products with the matrix are float32 Gemms in onnxruntime; the bases are re-orthonormalized between
// the power iterations by Cholesky QR; the small l x l SVD at the end is float64.
import type { CancelSignal } from '../cancellation';
import { gram } from './gram';
import { ortGemm } from './ortGemm';
import { orthonormalize } from './orthonormalize';
import { NormalRandom } from './random';
import type { Svd } from './svd';
import { normalizeRows, permuteColumns, permuteRows } from './svd';
import { symmetricEigen } from './symmetricEigen';

/** Options of randomizedSvd. */
export interface RandomizedSvdOptions {
  /** Extra sampled directions beyond the rank (default 10). */
  readonly oversamples?: number;
  /** Power iterations (default 2). */
  readonly powerIterations?: number;
  /** Seed of the Gaussian test matrix (default 0). */
  readonly seed?: number;
  /** Checked between the products; a cancelled run rejects with a CANCELLED HalocError. */
  readonly signal?: CancelSignal;
}

/** The leading `rank` singular triplets of the row-major rows x cols float32 `matrix`. */
export async function randomizedSvd(matrix: Float32Array, rows: number, cols: number, rank: number, options: RandomizedSvdOptions = {}): Promise<Svd> {
  const limit = Math.min(rows, cols);
  if (!(rank >= 1 && rank <= limit)) throw new RangeError(`randomizedSvd: rank ${rank} is outside 1..${limit}`);
  const l = Math.min(limit, rank + (options.oversamples ?? 10));
  const power = options.powerIterations ?? 2;
  const flip = rows < cols; // work on B = M^T (tall) like sklearn's transpose='auto'
  const bRows = flip ? cols : rows;
  const bCols = flip ? rows : cols;
  // B X and B^T X for X with l columns, through the transpose flags of the stored M
  const check = (): void => options.signal?.throwIfCancelled();
  const times = (x: Float32Array): Promise<Float32Array> => (check(), ortGemm(matrix, x, bRows, bCols, l, flip ? { transA: true } : {}));
  const timesT = (x: Float32Array): Promise<Float32Array> => (check(), ortGemm(matrix, x, bCols, bRows, l, flip ? {} : { transA: true }));
  const omega = new Float32Array(bCols * l);
  new NormalRandom(options.seed ?? 0).fillNormal(omega);
  let q: Float32Array = omega;
  for (let it = 0; it < power; it++) {
    q = await orthonormalize(await times(q), bRows, l, 1);
    q = await orthonormalize(await timesT(q), bCols, l, 1);
  }
  q = await orthonormalize(await times(q), bRows, l, 2); // bRows x l, orthonormal
  // C = Q^T B (l x bCols) is held as its transpose C^T = B^T Q (bCols x l); its SVD from C C^T
  const ct = Float64Array.from(await timesT(q));
  const eig = await symmetricEigen(await gram(ct, bCols, l, 'cols'), l); // C C^T = Uhat diag(s^2) Uhat^T
  // W = Uhat^T C (l x bCols) = (C^T Uhat)^T; s_i = |W_i|, V^T rows = W_i / s_i
  const w = await ortGemm(eig.vectors, ct, l, l, bCols, { transA: true, transB: true });
  const { s, order } = normalizeRows(w, l, bCols, 2 ** -23);
  // U = Q Uhat (bRows x l), kept as U^T rows for truncation: U^T = Uhat^T Q^T
  const uhat = permuteColumns(eig.vectors, l, l, order);
  const utB = await ortGemm(Float32Array.from(uhat), q, l, l, bRows, { transA: true, transB: true });
  const sr = s.slice(0, rank);
  const uRows = Float64Array.from(utB.subarray(0, rank * bRows)); // rank x bRows
  const vRows = permuteRows(w, bCols, order).subarray(0, rank * bCols).slice(); // rank x bCols
  // B = U S V^T; M = B^T = V S U^T when flipped
  const [leftRows, rightRows, leftLen] = flip ? [vRows, uRows, bCols] : [uRows, vRows, bRows];
  return { rows, cols, rank, u: transposeRows(leftRows, rank, leftLen), s: sr, vt: rightRows };
}

/** The transpose of the row-major r x c `m` (r vectors as rows -> columns). */
function transposeRows(m: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const src = i * c;
    for (let j = 0; j < c; j++) t[j * r + i] = m[src + j]!;
  }
  return t;
}
