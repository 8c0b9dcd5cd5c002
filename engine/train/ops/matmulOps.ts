// Gradients of Gemm (transA, transB, alpha, beta, optional C) and MatMul (2-D or batched, broadcast).
import { attributeFloat, attributeInt } from '../../onnx/attributes';
import { HalocError } from '../../errors';
import type { TrainingGraph } from '../trainingGraph';
import { inputOf, type TrainingOp } from './trainingOp';

/** Gemm(a, b) with the given transposes and alpha, of known output dims. */
function gemm(g: TrainingGraph, a: string, b: string, transA: boolean, transB: boolean, alpha: number): string {
  const [ar, ac] = g.dims(a) as [number, number];
  const [br, bc] = g.dims(b) as [number, number];
  const dims = [transA ? ac : ar, transB ? br : bc];
  return g.node('Gemm', [a, b], dims, { transA: transA ? 1 : 0, transB: transB ? 1 : 0, ...(alpha === 1 ? {} : { alpha: { float: alpha } }) });
}

const gemmOp: TrainingOp = {
  differentiable: () => [0, 1, 2],
  backward: (g, node, [dy], wanted) => {
    if (!dy) return [];
    const a = inputOf(node, 0);
    const b = inputOf(node, 1);
    const transA = attributeInt(node, 'transA', 0) === 1;
    const transB = attributeInt(node, 'transB', 0) === 1;
    const alpha = attributeFloat(node, 'alpha', 1);
    const beta = attributeFloat(node, 'beta', 1);
    // Y = alpha A' B' + beta C with A' = op(A), B' = op(B)
    const da = !wanted[0] ? undefined : transA ? gemm(g, b, dy, transB, true, alpha) : gemm(g, dy, b, false, !transB, alpha);
    const db = !wanted[1] ? undefined : transB ? gemm(g, dy, a, true, transA, alpha) : gemm(g, a, dy, !transA, false, alpha);
    let dc: string | undefined;
    if (wanted[2] && inputOf(node, 2)) {
      const summed = g.unbroadcast(dy, g.dims(inputOf(node, 2)));
      dc = beta === 1 ? summed : g.node('Mul', [summed, g.scalar(beta)], g.dims(summed));
    }
    return [da, db, dc];
  },
};

/** `x` with its last two axes swapped. */
function swapLast(g: TrainingGraph, x: string): string {
  const rank = g.dims(x).length;
  return g.transpose(x, [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2]);
}

/** MatMul of two tensors of rank >= 2 (numpy broadcasting of the batch axes). */
function matmul(g: TrainingGraph, a: string, b: string): string {
  const ad = g.dims(a);
  const bd = g.dims(b);
  const rank = Math.max(ad.length, bd.length);
  const batch = Array.from({ length: rank - 2 }, (_, i) => {
    const x = ad[ad.length - rank + i] ?? 1;
    const y = bd[bd.length - rank + i] ?? 1;
    return Math.max(x, y);
  });
  return g.node('MatMul', [a, b], [...batch, ad[ad.length - 2]!, bd[bd.length - 1]!]);
}

const matmulOp: TrainingOp = {
  differentiable: () => [0, 1],
  backward: (g, node, [dy], wanted) => {
    if (!dy) return [];
    const a = inputOf(node, 0);
    const b = inputOf(node, 1);
    if (g.dims(a).length < 2 || g.dims(b).length < 2) throw new HalocError('UNSUPPORTED', `training: MatMul '${node.name ?? ''}' with a 1-D operand has no gradient here`);
    const da = wanted[0] ? g.unbroadcast(matmul(g, dy, swapLast(g, b)), g.dims(a)) : undefined;
    const db = wanted[1] ? g.unbroadcast(matmul(g, swapLast(g, a), dy), g.dims(b)) : undefined;
    return [da, db];
  },
};

/** Training ops of this file by op type. */
export const matmulOps: Record<string, TrainingOp> = { Gemm: gemmOp, MatMul: matmulOp };
