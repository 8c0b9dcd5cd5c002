// Orthonormal bases of tall float32 matrices by Cholesky QR: Q = Y R^-1 with R^T R = Y^T Y. The two
// products (Y^T Y and Y R^-1, each 2 N l^2 flops) run in onnxruntime; the l x l Cholesky factor and
// its inverse are float64, in the wasm kernels. One pass leaves Q with orthogonality error
// ~ cond(Y)^2 * 6e-8, enough to keep the power iterations of the randomized SVD well conditioned; a
// second pass (CholeskyQR2) makes it orthonormal to float32 precision. A Gram matrix that is not
// numerically positive definite gets a small diagonal shift (shifted CholeskyQR) before the passes
// that follow repair it.
import { gram } from './gram';
import { ortGemm } from './ortGemm';
import { f64View, withWasm, type WasmArena } from './wasmKernels';

/** Y (n x l, row-major float32) replaced by an orthonormal basis of its column space. */
export async function orthonormalize(y: Float32Array, n: number, l: number, passes: number): Promise<Float32Array> {
  let q = y;
  for (let pass = 0; pass < passes; pass++) {
    const g = await gram(q, n, l, 'cols');
    const rInv = await withWasm((arena) => upperInverse(cholesky(g, l, arena), l, arena));
    q = await ortGemm(q, Float32Array.from(rInv), n, l, l);
  }
  return q;
}

/** The upper triangular R (row-major) with R^T R = G (+ a shift when G is not positive definite); inside withWasm. */
export function cholesky(g: Float64Array, l: number, arena: WasmArena): Float64Array {
  const a = arena.alloc(l * l);
  const kernels = arena.commit();
  let maxDiag = 0;
  for (let i = 0; i < l; i++) maxDiag = Math.max(maxDiag, g[i * l + i]!);
  let shift = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    f64View(a, l * l).set(g.subarray(0, l * l));
    if (kernels.choleskyUpper(a, l, shift) === 0) return f64View(a, l * l).slice();
    shift = shift === 0 ? maxDiag * l * 2 ** -23 : shift * 100;
  }
  throw new Error('cholesky: the Gram matrix is not positive definite even after shifting');
}

/** The inverse of the upper triangular row-major l x l R (also upper triangular); inside withWasm. */
export function upperInverse(r: Float64Array, l: number, arena: WasmArena): Float64Array {
  const rPtr = arena.alloc(l * l);
  const xPtr = arena.alloc(l * l);
  const kernels = arena.commit();
  f64View(rPtr, l * l).set(r.subarray(0, l * l));
  kernels.upperInverse(rPtr, l, xPtr);
  return f64View(xPtr, l * l).slice();
}
