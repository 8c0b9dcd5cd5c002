// Symmetric eigen-decomposition A = V diag(w) V^T in float64, LAPACK dsyevd's algorithm: Householder
// tridiagonalization (wasm SIMD symmetric matrix-vector products + onnxruntime rank-2k updates),
// divide and conquer on the tridiagonal matrix, and the blocked back-transformation (onnxruntime).
//
// Why this implementation (measured on the 2-core project machine against numpy 2.4 / OpenBLAS
// 0.3.31 `numpy.linalg.eigh`, which uses both cores; one decomposition of a Gram matrix unless said
// otherwise): the npm candidates were far slower than numpy: `emlapack` (CLAPACK dsyevd compiled with
// emscripten, no SIMD) 42 ms at n = 256 and 410 ms at n = 512 against numpy's 7 and 30 ms; `eigen`
// (Eigen.js) offers only the general non-symmetric solver (283 ms at n = 256); `@stdlib/lapack` has
// no eigen-solver. Hand-written, the O(n^3) products with a useful inner dimension (the panel updates
// of the tridiagonalization, the divide-and-conquer eigenvector updates, the back-transformation) go
// to onnxruntime's float64 Gemm (30-45 GFLOPS on one thread; plain JavaScript loops reach ~1.2). The
// one-vector-at-a-time half of the tridiagonalization (a symmetric matrix-vector product per column,
// 2/3 n^3 flops that no library call can batch) ran at 1.2 GFLOPS in plain TypeScript and at 4.5-7
// GFLOPS as wasm SIMD (f64x2), so it and the other O(n^2)-per-step loops are wasm (wasm/kernels.as).
// On one thread this matches numpy on one thread (n = 512: ~48 ms both; n = 1024: ~300 ms) and is
// 1.3-1.7x slower than numpy's two threads; at n = 2048 the memory-bound matrix-vector products make
// it ~2x slower. The many decompositions of a model therefore run on one worker per core
// (eigenBatch.ts): on the 71 Gram matrices of a ResNet-50 (n = 64 ... 1024) that was 0.83 s against
// numpy's 0.83 s on a quiet machine (ratio 0.96-1.04 over several runs), and far ahead of numpy
// whenever other processes load the machine (numpy's threads stall; ratios 0.2-0.5 were measured).
import { applyReflectors } from './backTransform';
import { tridiagonalEigen } from './divideConquer';
import { tridiagonalize } from './tridiagonalize';
import { f64View, withWasm, type WasmArena } from './wasmKernels';

/** The result of symmetricEigen. */
export interface SymmetricEigen {
  readonly n: number;
  /** Eigenvalues in descending order (n). */
  readonly values: Float64Array;
  /**
   * Unit eigenvectors as columns, like numpy.linalg.eigh's v: the n x n row-major V with
   * vectors[i * n + j] = component i of the eigenvector of values[j].
   */
  readonly vectors: Float64Array;
}

/**
 * Eigenvalues (descending) and eigenvectors of the symmetric n x n matrix `matrix` (row-major; both
 * triangles are read as one, the upper triangle of the row-major layout is the one used).
 */
export async function symmetricEigen(matrix: Float64Array | Float32Array, n: number): Promise<SymmetricEigen> {
  if (matrix.length < n * n) throw new RangeError(`symmetricEigen: expected ${n * n} values, got ${matrix.length}`);
  if (n === 0) return { n, values: new Float64Array(0), vectors: new Float64Array(0) };
  if (n === 1) return { n, values: Float64Array.of(matrix[0]!), vectors: Float64Array.of(1) };
  return withWasm((arena) => decompose(matrix, n, arena));
}

async function decompose(matrix: Float64Array | Float32Array, n: number, arena: WasmArena): Promise<SymmetricEigen> {
  const aPtr = arena.alloc(n * n);
  arena.commit();
  // column-major lower triangle of the buffer = row-major upper triangle
  const a = f64View(aPtr, n * n);
  a.set(matrix.length === n * n ? matrix : matrix.subarray(0, n * n));
  let maxAbs = 0;
  for (let i = 0; i < n * n; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
  if (!Number.isFinite(maxAbs)) throw new RangeError('symmetricEigen: the matrix has NaN or infinite entries');
  // like dsyevd: bring a matrix of extreme magnitude to norm ~1 so that no square over- or underflows
  const scale = maxAbs > 2 ** 400 || (maxAbs > 0 && maxAbs < 2 ** -400) ? 1 / maxAbs : 1;
  if (scale !== 1) for (let i = 0; i < n * n; i++) a[i]! *= scale;
  const form = await tridiagonalize(arena, aPtr, n);
  const d = form.d.slice();
  const e = form.e.slice();
  const z = await tridiagonalEigen(d, e, n, arena); // column j: eigenvector of T for d[j], ascending
  await applyReflectors(form, z);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = d[n - 1 - i]! / scale;
  for (let i = 0; i < n; i++) z.subarray(i * n, i * n + n).reverse();
  return { n, values, vectors: z };
}
