// Symmetric tridiagonal eigen-decomposition by Cuppen's divide and conquer (as LAPACK dstedc /
// dlaed0-dlaed3): tear the matrix in two with a rank-one correction, solve the halves, then merge
// through the secular equation (secular.ts). Deflation (dlaed2) removes tiny components of z and
// nearly equal eigenvalues. Eigenvectors are kept as rows (contiguous), so rotations, gathers and the
// final placement are plain copies; the two eigenvector products of each merge go to onnxruntime
// once they are large. Leaves of up to LEAF rows use the implicit QL method.
import { gemm, SMALL_GEMM_MACS } from './gemm';
import { ortGemmPair, type GemmTask } from './ortGemm';
import { secularSolve, type SecularWork } from './secular';
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

interface Problem {
  readonly d: Float64Array;
  readonly e: Float64Array;
  /** Row j: eigenvector j (within its block's columns). */
  readonly qt: Float64Array;
  /** The result, written by the last merge: column j is eigenvector j. */
  readonly z: Float64Array;
  readonly n: number;
  readonly work: SecularWork;
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

/** One half of a merge's eigenvector update: the product and where its result goes. */
interface Half {
  readonly colStart: number;
  readonly cols: number;
  readonly out: Float64Array;
  readonly task: GemmTask<Float64Array>;
}

/** What deflation leaves for the secular equation, and the eigenvectors it rotated. */
interface Deflation {
  readonly values: Float64Array;
  readonly z: Float64Array;
  readonly kept: readonly number[];
  readonly deflated: readonly number[];
  readonly top: Uint8Array;
  readonly bottom: Uint8Array;
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

/**
 * Solves the secular equation of the kept part and writes the merged, sorted block into d and qt (or,
 * for the last merge, z). Each half of the block is one product (kept old vectors)^T * (secular
 * vectors); the deflated vectors are copied to their sorted places. Without deflation the product
 * lands in sorted order directly.
 */
async function assemble(p: Problem, lo: number, mid: number, hi: number, rho: number, f: Deflation): Promise<void> {
  const { d, qt, n, work } = p;
  const m = hi - lo;
  const n1 = mid - lo;
  const k = f.kept.length;
  let mem = f64View(0, work.vectors / 8 + k * k);
  for (let i = 0; i < k; i++) {
    mem[work.delta / 8 + i] = f.values[f.kept[i]!]!;
    mem[work.z / 8 + i] = f.z[f.kept[i]!]!;
  }
  secularSolve(work, k, rho);
  mem = f64View(0, work.vectors / 8 + k * k);
  const u = mem.subarray(work.vectors / 8, work.vectors / 8 + k * k); // column j: vector of root j
  // sorted positions: roots (ascending) merged with the deflated values (sorted)
  const deflated = [...f.deflated].sort((a, b) => f.values[a]! - f.values[b]!);
  const rootPos = new Int32Array(k);
  const deflatedPos = new Int32Array(deflated.length);
  for (let a = 0, b = 0, pos = 0; pos < m; pos++) {
    const root = a < k ? mem[work.lamBase / 8 + a]! + mem[work.tau / 8 + a]! : Infinity;
    if (b >= deflated.length || root <= f.values[deflated[b]!]!) {
      d[lo + pos] = root;
      rootPos[a++] = pos;
    } else {
      d[lo + pos] = f.values[deflated[b]!]!;
      deflatedPos[b++] = pos;
    }
  }
  const inOrder = deflated.length === 0; // then rootPos is the identity
  const final = lo === 0 && hi === n;
  // each half of the block: (kept old vectors with a part in columns colStart..+cols) x (secular
  // vectors); (final) cols x k, rows are components, or k x cols, rows are vectors
  const prepare = (colStart: number, cols: number, flags: Uint8Array, out: Float64Array): Half => {
    let count = 0;
    for (let i = 0; i < k; i++) if (flags[f.kept[i]!]) count++;
    const coef = new Float64Array(count * k);
    const old = new Float64Array(count * cols);
    for (let i = 0, t = 0; i < k; i++) {
      const c = f.kept[i]!;
      if (!flags[c]) continue;
      coef.set(u.subarray(i * k, i * k + k), t * k);
      const src = (lo + c) * n + colStart;
      old.set(qt.subarray(src, src + cols), t * cols);
      t++;
    }
    const product = inOrder ? out : new Float64Array(k * cols);
    const task = final ? { a: old, b: coef, m: cols, k: count, n: k, out: product } : { a: coef, b: old, m: k, k: count, n: cols, out: product };
    return { colStart, cols, out, task };
  };
  // the deflated vectors (and, out of order, the roots' vectors) to their sorted places
  const place = ({ colStart, cols, out, task }: Half): void => {
    const product = task.out;
    if (final) {
      for (let r = 0; r < cols; r++) {
        const row = r * m;
        const src = r * k;
        for (let j = 0; j < k; j++) out[row + rootPos[j]!] = product[src + j]!;
        for (let b = 0; b < deflated.length; b++) out[row + deflatedPos[b]!] = qt[(lo + deflated[b]!) * n + colStart + r]!;
      }
      return;
    }
    for (let j = 0; j < k; j++) out.set(product.subarray(j * cols, (j + 1) * cols), rootPos[j]! * cols);
    for (let b = 0; b < deflated.length; b++) {
      const src = (lo + deflated[b]!) * n + colStart;
      out.set(qt.subarray(src, src + cols), deflatedPos[b]! * cols);
    }
  };
  const run = async (top: Half, bottom: Half): Promise<void> => {
    const big = (h: Half): boolean => h.task.m * h.task.k * h.task.n >= SMALL_GEMM_MACS;
    if (big(top) && big(bottom)) {
      await ortGemmPair(top.task, bottom.task, { transA: true });
    } else {
      for (const h of [top, bottom]) await gemm(h.task.a, h.task.b, h.task.m, h.task.k, h.task.n, { transA: true, out: h.task.out });
    }
    if (!inOrder) {
      place(top);
      place(bottom);
    }
  };
  if (final) {
    await run(prepare(lo, n1, f.top, p.z.subarray(0, n1 * n)), prepare(mid, m - n1, f.bottom, p.z.subarray(n1 * n, n * n)));
    return;
  }
  const upper = new Float64Array(m * n1);
  const lower = new Float64Array(m * (m - n1));
  await run(prepare(lo, n1, f.top, upper), prepare(mid, m - n1, f.bottom, lower));
  for (let pos = 0; pos < m; pos++) {
    const row = (lo + pos) * n + lo;
    qt.set(upper.subarray(pos * n1, pos * n1 + n1), row);
    qt.set(lower.subarray(pos * (m - n1), (pos + 1) * (m - n1)), row + n1);
  }
}
