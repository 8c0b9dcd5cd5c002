// Householder reduction of a symmetric matrix to tridiagonal form, T = Q^T A Q (LAPACK dsytrd with
// uplo 'L', blocked as in dlatrd). The matrix lives column-major in wasm memory; the BLAS-2 part (one
// symmetric matrix-vector product per column) runs in the wasm SIMD kernels, the rank-2k update of
// each panel in onnxruntime's float64 Gemm. Reflector i is H(i) = I - tau[i] v v^T with v[i+1] = 1 and
// v[i+2:n] stored below the subdiagonal of column i.
import { ortGemm, ortGemmPair } from './ortGemm';
import { f64View, type KernelExports, type WasmArena } from './wasmKernels';

/** The tridiagonal form and where its reflectors are. */
export interface TridiagonalForm {
  readonly n: number;
  /** Diagonal of T (n). */
  readonly d: Float64Array;
  /** Subdiagonal of T (n - 1; entry i couples rows i and i + 1). */
  readonly e: Float64Array;
  /** Scalars of the reflectors (n - 1). */
  readonly tau: Float64Array;
  /** Byte offset of the reduced n x n matrix (column-major) in wasm memory. */
  readonly aPtr: number;
}

/** Panel width of the blocked reduction, and the size below which the rest is reduced unblocked. */
const PANEL = 32;
const CROSSOVER = 128;

interface Work {
  readonly k: KernelExports;
  readonly n: number;
  readonly a: number; // byte offset of A
  readonly w: number; // byte offset of W (n x PANEL, leading dimension n)
  readonly tmp: number; // byte offset of a PANEL-long scratch vector
  readonly coef: number; // byte offset of a PANEL-long scratch vector
  readonly mem: Float64Array; // the whole memory as float64 (valid until the memory grows)
}

/** Byte offset of element (i, j) of a column-major matrix at `base` with leading dimension `ld`. */
function at(base: number, i: number, j: number, ld: number): number {
  return base + 8 * (i + j * ld);
}

/**
 * Reduces the n x n symmetric matrix at byte offset `aPtr` (column-major, lower triangle used; the
 * arena must have room for the work space this allocates) in place.
 */
export async function tridiagonalize(arena: WasmArena, aPtr: number, n: number): Promise<TridiagonalForm> {
  const wPtr = arena.alloc(n * PANEL);
  const tmp = arena.alloc(PANEL);
  const coef = arena.alloc(PANEL);
  const yPtr = arena.alloc(5 * PANEL * n);
  const pPtr = arena.alloc(n > CROSSOVER ? (n - PANEL) * (n - PANEL) : 1); // h * mt + h2^2 <= mt^2
  const k = arena.commit();
  const work: Work = { k, n, a: aPtr, w: wPtr, tmp, coef, mem: f64View(0, k.memory.buffer.byteLength / 8) };
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  const tau = new Float64Array(Math.max(n - 1, 0));
  let i = 0;
  for (; n - i > CROSSOVER; i += PANEL) {
    reducePanel(work, i, e, tau);
    await updateTrailing(work, i, yPtr, pPtr);
    for (let j = i; j < i + PANEL; j++) {
      work.mem[(at(aPtr, j + 1, j, n)) / 8] = e[j]!;
      d[j] = work.mem[at(aPtr, j, j, n) / 8]!;
    }
  }
  reduceUnblocked(work, i, d, e, tau);
  return { n, d, e, tau, aPtr };
}

/** The reflector for column g (dlarfg on A(g+1:n, g), in wasm): returns [beta, tau]. */
function reflector(work: Work, g: number): [number, number] {
  const { k, n, a, mem } = work;
  k.householder(at(a, g + 1, g, n), n - g - 1, work.coef);
  return [mem[work.coef / 8]!, mem[work.coef / 8 + 1]!];
}

/** dlatrd, lower: reduces columns i .. i + PANEL - 1 and forms W for the rank-2k update. */
function reducePanel(work: Work, i: number, e: Float64Array, tau: Float64Array): void {
  const { k, n, a, w, mem } = work;
  for (let c = 0; c < PANEL; c++) {
    const g = i + c;
    const len = n - g;
    if (c > 0) {
      // A(g:n, g) -= V(g:n, 0:c) W(c, 0:c)^T + W(c:m, 0:c) V(g, 0:c)^T
      const coefs = work.coef / 8;
      for (let q = 0; q < c; q++) mem[coefs + q] = mem[at(w, c, q, n) / 8]!;
      k.gemvNSub(at(a, g, i, n), n, len, c, work.coef, at(a, g, g, n));
      for (let q = 0; q < c; q++) mem[coefs + q] = mem[at(a, g, i + q, n) / 8]!;
      k.gemvNSub(at(w, c, 0, n), n, len, c, work.coef, at(a, g, g, n));
    }
    const [beta, t] = reflector(work, g);
    e[g] = beta;
    tau[g] = t;
    mem[at(a, g + 1, g, n) / 8] = 1;
    const v = at(a, g + 1, g, n);
    const wc = at(w, c + 1, c, n);
    const L = len - 1;
    // W(c+1:m, c) = tau (A22 v - V (W^T v) - W (V^T v)); then W += alpha v with alpha = -tau/2 W^T v
    k.symvLower(at(a, g + 1, g + 1, n), n, L, v, wc);
    if (c > 0) {
      k.gemvT(at(w, c + 1, 0, n), n, L, c, v, work.tmp);
      k.gemvNSub(at(a, g + 1, i, n), n, L, c, work.tmp, wc);
      k.gemvT(at(a, g + 1, i, n), n, L, c, v, work.tmp);
      k.gemvNSub(at(w, c + 1, 0, n), n, L, c, work.tmp, wc);
    }
    k.finishW(wc, v, L, t);
  }
}

/**
 * A(i+PANEL:n, i+PANEL:n) -= V W^T + W V^T on the lower triangle: the products in onnxruntime, as two
 * Gemms that cover the first half of the columns and the trailing square (3/4 of the full product),
 * the subtraction in wasm.
 */
async function updateTrailing(work: Work, i: number, yPtr: number, pPtr: number): Promise<void> {
  const { k, n, a, w, mem } = work;
  const start = i + PANEL;
  const mt = n - start;
  const h = Math.ceil(mt / 2);
  const h2 = mt - h;
  // Y layout (rows of `cols` values each): full = [W^T; V^T] (2P x mt), head = [V^T; W^T] of the
  // first h columns (2P x h), tail = [V^T; W^T; V^T] of the last h2 columns (3P x h2)
  const full = yPtr / 8;
  const head = full + 2 * PANEL * mt;
  const tail = head + 2 * PANEL * h;
  for (let c = 0; c < PANEL; c++) {
    const vcol = at(a, start, i + c, n) / 8;
    const wcol = at(w, PANEL, c, n) / 8;
    mem.copyWithin(full + c * mt, wcol, wcol + mt);
    mem.copyWithin(full + (PANEL + c) * mt, vcol, vcol + mt);
    mem.copyWithin(head + c * h, vcol, vcol + h);
    mem.copyWithin(head + (PANEL + c) * h, wcol, wcol + h);
    mem.copyWithin(tail + c * h2, vcol + h, vcol + mt);
    mem.copyWithin(tail + (PANEL + c) * h2, wcol + h, wcol + mt);
    mem.copyWithin(tail + (2 * PANEL + c) * h2, vcol + h, vcol + mt);
  }
  const buffer = k.memory.buffer;
  const view = (at8: number, len: number): Float64Array => new Float64Array(buffer, at8 * 8, len);
  // rows 0..h of the product (h x mt; column-major, the first h columns of its lower part), and the
  // trailing h2 x h2 square, in one onnxruntime call
  const pHead = view(pPtr / 8, h * mt);
  const pTail = view(pPtr / 8 + h * mt, h2 * h2);
  const head2 = { a: view(head, 2 * PANEL * h), b: view(full, 2 * PANEL * mt), m: h, k: 2 * PANEL, n: mt, out: pHead };
  if (h2 > 0) {
    const tail2 = { a: view(tail, 2 * PANEL * h2), b: view(tail + PANEL * h2, 2 * PANEL * h2), m: h2, k: 2 * PANEL, n: h2, out: pTail };
    await ortGemmPair(head2, tail2, { transA: true });
  } else {
    await ortGemm(head2.a, head2.b, h, 2 * PANEL, mt, { transA: true, out: pHead });
  }
  k.subLower(at(a, start, start, n), n, mt, h, pPtr, mt);
  if (h2 > 0) k.subLower(at(a, start + h, start + h, n), n, h2, h2, pPtr + 8 * h * mt, h2);
}

/** dsytd2, lower: reduces columns i .. n - 2 one at a time. */
function reduceUnblocked(work: Work, i: number, d: Float64Array, e: Float64Array, tau: Float64Array): void {
  const { k, n, a, w, mem } = work;
  for (let g = i; g < n - 1; g++) {
    const L = n - g - 1;
    const [beta, t] = reflector(work, g);
    e[g] = beta;
    if (t !== 0) {
      const v = at(a, g + 1, g, n);
      mem[v / 8] = 1;
      k.symvLower(at(a, g + 1, g + 1, n), n, L, v, w);
      k.finishW(w, v, L, t);
      k.syr2Lower(at(a, g + 1, g + 1, n), n, L, v, w);
      mem[v / 8] = beta;
    }
    d[g] = mem[at(a, g, g, n) / 8]!;
    tau[g] = t;
  }
  if (n > 0) d[n - 1] = mem[at(a, n - 1, n - 1, n) / 8]!;
}
