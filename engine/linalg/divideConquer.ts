// Symmetric tridiagonal eigen-decomposition by Cuppen's divide and conquer (as LAPACK dstedc /
// dlaed0-dlaed3): tear the matrix in two with a rank-one correction, solve the halves, then merge
// through the secular equation (secular.ts). Deflation (dlaed2) removes tiny components of z and
// nearly equal eigenvalues. Eigenvectors are kept as rows (contiguous), so rotations, gathers and the
// final placement are plain copies; the two eigenvector products of each merge go to onnxruntime
// once they are large. Leaves of up to LEAF rows use the implicit QL method.
import { assemble, type Deflation, type Problem } from './mergeVectors';
import type { SecularWork } from './secular';
import { tridiagonalQl } from './tridiagonalQl';
import { f64View, type WasmArena } from './wasmKernels';

const LEAF = 32;
const EPS = Number.EPSILON / 2;

/**
 * Eigenvalues (ascending, written into `d`) and eigenvectors of the symmetric tridiagonal matrix with
 * diagonal `d` (n) and off-diagonal `e` (n - 1; not preserved). Returns the n x n row-major matrix
 * whose column j is the unit eigenvector of d[j]. Work arrays are taken from `arena`.
 */
export async function tridiagonalEigen(d: Float64Array, e: Float64Array, n: number, arena: WasmArena): Promise<Float64Array> {
  const qt = new Float64Array(n * n);
  if (n === 0) return qt;
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(d[i]!), i < n - 1 ? Math.abs(e[i]!) : 0);
  if (scale === 0) {
    for (let i = 0; i < n; i++) qt[i * n + i] = 1;
    return qt;
  }
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) d[i]! /= scale;
  for (let i = 0; i < n - 1; i++) e[i]! /= scale;
  const work: SecularWork = {
    delta: arena.alloc(n), z: arena.alloc(n), z2: arena.alloc(n), lamBase: arena.alloc(n),
    tau: arena.alloc(n), zhat: arena.alloc(n), sums: arena.alloc(8), vectors: arena.alloc(n * n),
  };
  arena.commit();
  await solve({ d, e, qt, z, n, work }, 0, n);
  for (let i = 0; i < n; i++) d[i]! *= scale;
  if (n <= LEAF) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) z[j * n + i] = qt[i * n + j]!;
  }
  return z;
}

async function solve(p: Problem, lo: number, hi: number): Promise<void> {
  const m = hi - lo;
  if (m <= LEAF) {
    solveLeaf(p, lo, hi);
    return;
  }
  const mid = lo + (m >> 1);
  const beta = p.e[mid - 1]!;
  const rho = Math.abs(beta);
  p.d[mid - 1]! -= rho;
  p.d[mid]! -= rho;
  await solve(p, lo, mid);
  await solve(p, mid, hi);
  await merge(p, lo, mid, hi, rho, beta < 0 ? -1 : 1);
}

function solveLeaf(p: Problem, lo: number, hi: number): void {
  const m = hi - lo;
  const { work } = p;
  // the secular work arrays are free between merges: delta, z and vectors hold d, e and the vectors
  const mem = f64View(0, work.vectors / 8 + m * m);
  mem.set(p.d.subarray(lo, hi), work.delta / 8);
  mem.set(p.e.subarray(lo, hi - 1), work.z / 8);
  tridiagonalQl(work.delta, work.z, m, work.vectors);
  p.d.set(mem.subarray(work.delta / 8, work.delta / 8 + m), lo);
  const rows = work.vectors / 8;
  for (let r = 0; r < m; r++) p.qt.set(mem.subarray(rows + r * m, rows + r * m + m), (lo + r) * p.n + lo);
}

/** Merges the solved halves [lo, mid) and [mid, hi) coupled by rho * u u^T, u = (e_last, sign e_first). */
async function merge(p: Problem, lo: number, mid: number, hi: number, rho0: number, sign: number): Promise<void> {
  const { qt, n } = p;
  const n1 = mid - lo;
  const m = hi - lo;
  const z = new Float64Array(m);
  for (let c = 0; c < n1; c++) z[c] = qt[(lo + c) * n + mid - 1]! * Math.SQRT1_2;
  for (let c = n1; c < m; c++) z[c] = sign * qt[(lo + c) * n + mid]! * Math.SQRT1_2;
  const rho = 2 * rho0;
  const values = p.d.slice(lo, hi);
  const f = deflate(p, lo, hi, n1, values, z, rho);
  await assemble(p, lo, mid, hi, rho, f);
}

/** dlaed2: splits the merged problem into the part for the secular equation and the deflated rest. */
function deflate(p: Problem, lo: number, hi: number, n1: number, values: Float64Array, z: Float64Array, rho: number): Deflation {
  const m = hi - lo;
  const order = mergeOrder(values, n1);
  let maxD = 0;
  let maxZ = 0;
  for (let c = 0; c < m; c++) {
    maxD = Math.max(maxD, Math.abs(values[c]!));
    maxZ = Math.max(maxZ, Math.abs(z[c]!));
  }
  const tol = 8 * EPS * Math.max(maxD, maxZ);
  const top = new Uint8Array(m);
  const bottom = new Uint8Array(m);
  for (let c = 0; c < m; c++) (c < n1 ? top : bottom)[c] = 1;
  const kept: number[] = [];
  const deflated: number[] = [];
  let prev = -1;
  for (const c of order) {
    if (rho * Math.abs(z[c]!) <= tol) {
      deflated.push(c);
      continue;
    }
    if (prev < 0) {
      prev = c;
      continue;
    }
    const h = Math.sqrt(z[c]! * z[c]! + z[prev]! * z[prev]!);
    const cs = z[c]! / h;
    const sn = -z[prev]! / h;
    if (Math.abs((values[c]! - values[prev]!) * cs * sn) <= tol) {
      z[c] = h;
      z[prev] = 0;
      rotateRows(p, lo, hi, lo + prev, lo + c, cs, sn);
      top[prev] = top[c] = top[prev]! | top[c]!;
      bottom[prev] = bottom[c] = bottom[prev]! | bottom[c]!;
      const vp = values[prev]!;
      const vc = values[c]!;
      values[prev] = vp * cs * cs + vc * sn * sn;
      values[c] = vp * sn * sn + vc * cs * cs;
      deflated.push(prev);
    } else {
      kept.push(prev);
    }
    prev = c;
  }
  if (prev >= 0) kept.push(prev);
  return { values, z, kept, deflated, top, bottom };
}

/** Indices 0..m-1 ordered by value, merging the two ascending runs [0, n1) and [n1, m). */
function mergeOrder(values: Float64Array, n1: number): number[] {
  const m = values.length;
  const order: number[] = [];
  let a = 0;
  let b = n1;
  while (a < n1 || b < m) {
    if (b >= m || (a < n1 && values[a]! <= values[b]!)) order.push(a++);
    else order.push(b++);
  }
  return order;
}

/** Givens rotation of eigenvector rows ra, rb over columns lo..hi (LAPACK drot on Q's columns). */
function rotateRows(p: Problem, lo: number, hi: number, ra: number, rb: number, c: number, s: number): void {
  const { qt, n } = p;
  const oa = ra * n;
  const ob = rb * n;
  for (let col = lo; col < hi; col++) {
    const x = qt[oa + col]!;
    const y = qt[ob + col]!;
    qt[oa + col] = c * x + s * y;
    qt[ob + col] = c * y - s * x;
  }
}
