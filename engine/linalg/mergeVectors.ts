// The eigenvector update of one divide-and-conquer merge (LAPACK dlaed3 with dlaed2's bookkeeping):
// solve the secular equation of the kept part, then every new eigenvector is a combination of the
// old ones of the block. Each half of the block (the rows of the first and of the second child) is
// one product (kept old vectors)^T x (secular vectors), both in one onnxruntime call when large; the
// deflated vectors are copied to their sorted places. Without deflation the products land in sorted
// order directly, for the last merge straight into the result.
import { gemm, SMALL_GEMM_MACS } from './gemm';
import { ortGemmPair, type GemmTask } from './ortGemm';
import { secularSolve, type SecularWork } from './secular';
import { f64View } from './wasmKernels';

/** The state of one tridiagonal divide and conquer. */
export interface Problem {
  readonly d: Float64Array;
  readonly e: Float64Array;
  /** Row j: eigenvector j (within its block's columns). */
  readonly qt: Float64Array;
  /** The result, written by the last merge: column j is eigenvector j. */
  readonly z: Float64Array;
  readonly n: number;
  readonly work: SecularWork;
}

/** What deflation leaves for the secular equation, and the eigenvectors it rotated. */
export interface Deflation {
  readonly values: Float64Array;
  readonly z: Float64Array;
  /** Local indices for the secular equation, by increasing value. */
  readonly kept: readonly number[];
  readonly deflated: readonly number[];
  /** Whether local vector c has a part in the first (top) or second (bottom) child's rows. */
  readonly top: Uint8Array;
  readonly bottom: Uint8Array;
}

/** One merge being assembled. */
interface Merge {
  readonly p: Problem;
  readonly lo: number;
  readonly m: number;
  readonly k: number;
  readonly f: Deflation;
  /** k x k: column j is the secular vector of root j. */
  readonly u: Float64Array;
  /** Deflated local indices by value, and the sorted positions of the roots and of those. */
  readonly deflated: readonly number[];
  readonly rootPos: Int32Array;
  readonly deflatedPos: Int32Array;
  /** No deflation: the roots are the sorted order. */
  readonly inOrder: boolean;
  /** The last merge, which writes z (columns are vectors) instead of qt. */
  readonly final: boolean;
}

/** One half of the update: the product and where its result goes. */
interface Half {
  readonly colStart: number;
  readonly cols: number;
  readonly out: Float64Array;
  readonly task: GemmTask<Float64Array>;
}

/** Solves the secular equation of the kept part and writes the merged, sorted block into d and qt or z. */
export async function assemble(p: Problem, lo: number, mid: number, hi: number, rho: number, f: Deflation): Promise<void> {
  const { qt, n } = p;
  const m = hi - lo;
  const n1 = mid - lo;
  const g = solveKept(p, lo, m, rho, f);
  if (g.final) {
    await multiply(g, prepare(g, lo, n1, f.top, p.z.subarray(0, n1 * n)), prepare(g, mid, m - n1, f.bottom, p.z.subarray(n1 * n, n * n)));
    return;
  }
  const upper = new Float64Array(m * n1);
  const lower = new Float64Array(m * (m - n1));
  await multiply(g, prepare(g, lo, n1, f.top, upper), prepare(g, mid, m - n1, f.bottom, lower));
  for (let pos = 0; pos < m; pos++) {
    const row = (lo + pos) * n + lo;
    qt.set(upper.subarray(pos * n1, pos * n1 + n1), row);
    qt.set(lower.subarray(pos * (m - n1), (pos + 1) * (m - n1)), row + n1);
  }
}

/** The secular roots and vectors, and the sorted order of roots and deflated values (into d). */
function solveKept(p: Problem, lo: number, m: number, rho: number, f: Deflation): Merge {
  const { d, n, work } = p;
  const k = f.kept.length;
  let mem = f64View(0, work.vectors / 8 + k * k);
  for (let i = 0; i < k; i++) {
    mem[work.delta / 8 + i] = f.values[f.kept[i]!]!;
    mem[work.z / 8 + i] = f.z[f.kept[i]!]!;
  }
  secularSolve(work, k, rho);
  mem = f64View(0, work.vectors / 8 + k * k);
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
  const u = mem.subarray(work.vectors / 8, work.vectors / 8 + k * k);
  return { p, lo, m, k, f, u, deflated, rootPos, deflatedPos, inOrder: deflated.length === 0, final: lo === 0 && m === n };
}

/** The operands of one half: (final) cols x k with rows as components, otherwise k x cols. */
function prepare(g: Merge, colStart: number, cols: number, flags: Uint8Array, out: Float64Array): Half {
  const { p, lo, k, f, u } = g;
  let count = 0;
  for (let i = 0; i < k; i++) if (flags[f.kept[i]!]) count++;
  const coef = new Float64Array(count * k);
  const old = new Float64Array(count * cols);
  for (let i = 0, t = 0; i < k; i++) {
    const c = f.kept[i]!;
    if (!flags[c]) continue;
    coef.set(u.subarray(i * k, i * k + k), t * k);
    const src = (lo + c) * p.n + colStart;
    old.set(p.qt.subarray(src, src + cols), t * cols);
    t++;
  }
  const product = g.inOrder ? out : new Float64Array(k * cols);
  const task = g.final ? { a: old, b: coef, m: cols, k: count, n: k, out: product } : { a: coef, b: old, m: k, k: count, n: cols, out: product };
  return { colStart, cols, out, task };
}

/** Both products (one onnxruntime call when both are large), then the placement. */
async function multiply(g: Merge, top: Half, bottom: Half): Promise<void> {
  const big = (h: Half): boolean => h.task.m * h.task.k * h.task.n >= SMALL_GEMM_MACS;
  if (big(top) && big(bottom)) {
    await ortGemmPair(top.task, bottom.task, { transA: true });
  } else {
    for (const h of [top, bottom]) await gemm(h.task.a, h.task.b, h.task.m, h.task.k, h.task.n, { transA: true, out: h.task.out });
  }
  if (!g.inOrder) {
    place(g, top);
    place(g, bottom);
  }
}

/** Moves the roots' vectors and copies the deflated vectors to their sorted places. */
function place(g: Merge, { colStart, cols, out, task }: Half): void {
  const { p, lo, m, k, deflated, rootPos, deflatedPos } = g;
  const { qt, n } = p;
  const product = task.out;
  if (g.final) {
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
}
