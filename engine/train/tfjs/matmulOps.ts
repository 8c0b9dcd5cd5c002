// Gemm and MatMul with their gradients. Their inputs are used in the ONNX layout.
import { HalocError } from '../../errors';
import { attributeFloat, attributeInt } from '../../onnx/attributes';
import { gradInLayoutOf, plainTensor, sumToShape } from './tfjsLayout';
import type { Act, Tensor, TfjsOp } from './tfjsTypes';

/** Gemm: Y = alpha * op(A) op(B) + beta * C. */
const gemmOp: TfjsOp = {
  forward: ({ tf, node, label }, [actA, actB, actC]) => {
    const a = plainTensor(tf, actA!);
    const b = plainTensor(tf, actB!);
    if (a.rank !== 2 || b.rank !== 2) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Gemm node '${label}' needs 2-D inputs`);
    const transA = attributeInt(node, 'transA', 0) === 1;
    const transB = attributeInt(node, 'transB', 0) === 1;
    const alpha = attributeFloat(node, 'alpha', 1);
    const beta = attributeFloat(node, 'beta', 1);
    const c = actC ? plainTensor(tf, actC) : undefined;
    let y = tf.matMul(a, b, transA, transB);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (c) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
    return {
      outputs: [{ t: y, nhwc: false }],
      backward: ([dy], wanted) => {
        if (!dy) return [];
        const g = alpha === 1 ? dy : tf.mul(dy, alpha);
        const da = wanted[0] ? (transA ? tf.matMul(b, g, transB, true) : tf.matMul(g, b, false, !transB)) : undefined;
        const db = wanted[1] ? (transB ? tf.matMul(g, a, true, transA) : tf.matMul(a, g, !transA, false)) : undefined;
        const dc = wanted[2] && c ? sumToShape(tf, beta === 1 ? dy : tf.mul(dy, beta), c.shape) : undefined;
        return [back(actA!, da), back(actB!, db), actC ? back(actC, dc) : undefined];
        function back(act: Act, grad: Tensor | undefined): Tensor | undefined {
          return grad && gradInLayoutOf(tf, grad, false, act);
        }
      },
    };
  },
};

/** MatMul with numpy semantics: 1-D operands are promoted and the batch dims broadcast. */
const matMulOp: TfjsOp = {
  forward: ({ tf }, [actA, actB]) => {
    const a0 = plainTensor(tf, actA!);
    const b0 = plainTensor(tf, actB!);
    const a = a0.rank === 1 ? tf.reshape(a0, [1, a0.shape[0]!]) : a0;
    const b = b0.rank === 1 ? tf.reshape(b0, [b0.shape[0]!, 1]) : b0;
    const product = tf.matMul(a, b);
    let shape = product.shape;
    if (a0.rank === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]!];
    if (b0.rank === 1) shape = shape.slice(0, -1);
    const y = shape.length === product.rank ? product : tf.reshape(product, shape);
    return {
      outputs: [{ t: y, nhwc: false }],
      backward: ([dy], wanted) => {
        if (!dy) return [];
        const g = tf.reshape(dy, product.shape);
        const da = wanted[0] ? gradInLayoutOf(tf, tf.reshape(sumToShape(tf, tf.matMul(g, b, false, true), a.shape), a0.shape), false, actA!) : undefined;
        const db = wanted[1] ? gradInLayoutOf(tf, tf.reshape(sumToShape(tf, tf.matMul(a, g, true, false), b.shape), b0.shape), false, actB!) : undefined;
        return [da, db];
      },
    };
  },
};

/** Matrix product ops by ONNX op type. */
export const matmulOps: Record<string, TfjsOp> = { Gemm: gemmOp, MatMul: matMulOp };
