// Z <- Q Z for the Q = H(0) H(1) ... H(n-2) of a tridiagonal form (LAPACK dormtr, side 'L', no
// transpose), blocked: each block of reflectors is I - V T V^T (dlarft, forward, columnwise) and is
// applied as Z -= (V T) (V^T Z) in one onnxruntime call (a three-node float64 model whose output
// overwrites the rows of Z in place).
import { DataType } from '../onnx/dataType';
import { GraphBuilder } from '../onnx/graphBuilder';
import { encodeOnnx } from '../onnx/writeOnnx';
import { gemm } from './gemm';
import { runCached } from './ortGemm';
import type { TridiagonalForm } from './tridiagonalize';
import { f64View, kernels } from './wasmKernels';

/** Reflectors per block. */
const BLOCK = 64;

function blockModel(): Uint8Array {
  const f64 = DataType.DOUBLE;
  const g = new GraphBuilder({ name: 'haloc_linalg_reflector_block', opset: 13 });
  g.input('Vt', ['K', 'M'], f64);
  g.input('Tt', ['K', 'K'], f64);
  g.input('Z', ['M', 'N'], f64);
  const [w] = g.node('MatMul', ['Vt', 'Z']);
  const [vt] = g.node('Gemm', ['Vt', 'Tt'], { transA: 1, transB: 1 });
  g.node('Gemm', [vt!, w!, 'Z'], { alpha: { float: -1 }, beta: { float: 1 } }, { outputs: ['Y'] });
  g.output('Y', ['M', 'N'], f64);
  return encodeOnnx(g.build());
}

/** Applies Q to the n x n row-major `z` in place (rows are the components, as Q acts on them). */
export async function applyReflectors(form: TridiagonalForm, z: Float64Array): Promise<void> {
  const { n, tau, aPtr } = form;
  const count = n - 1;
  if (count <= 0) return;
  const mem = f64View(0, kernels().memory.buffer.byteLength / 8);
  const at = (i: number, j: number): number => aPtr / 8 + i + j * n;
  for (let g0 = Math.floor((count - 1) / BLOCK) * BLOCK; g0 >= 0; g0 -= BLOCK) {
    const kb = Math.min(BLOCK, count - g0);
    const m = n - g0 - 1;
    const vt = new Float64Array(kb * m);
    for (let c = 0; c < kb; c++) {
      const row = c * m;
      vt[row + c] = 1;
      const src = at(g0 + c + 2, g0 + c);
      for (let r = c + 1; r < m; r++) vt[row + r] = mem[src + r - c - 1]!;
    }
    // T (dlarft), kept transposed (tt = T^T, lower triangular, row-major): T(c, c) = tau_c and
    // T(0:c, c) = -tau_c T(0:c, 0:c) S(0:c, c) with S = V^T V, i.e. row c of tt is -tau_c times the
    // sum over r < c of S(r, c) * (row r of tt)
    const s = await gemm(vt, vt, kb, m, kb, { transB: true });
    const tt = new Float64Array(kb * kb);
    for (let c = 0; c < kb; c++) {
      const tc = tau[g0 + c]!;
      const row = c * kb;
      if (tc !== 0) {
        for (let r = 0; r < c; r++) {
          const src = s[c * kb + r]!;
          if (src === 0) continue;
          const rr = r * kb;
          for (let q = 0; q <= r; q++) tt[row + q]! += src * tt[rr + q]!;
        }
        for (let q = 0; q < c; q++) tt[row + q]! *= -tc;
      }
      tt[row + c] = tc;
    }
    const rows = z.subarray((g0 + 1) * n, n * n);
    await runCached('reflectorBlockT:float64', blockModel, {
      Vt: { data: vt, dims: [kb, m] },
      Tt: { data: tt, dims: [kb, kb] },
      Z: { data: rows, dims: [m, n] },
    }, { Y: { data: rows, dims: [m, n] } }, 2 * kb * m * n);
  }
}
