// Add, Sub, Mul and Div with ONNX (numpy) broadcasting. When the result is 4-D and an operand is
// stored NHWC, both operands are brought into NHWC (a lower-rank operand such as a [C, 1, 1] bias is
// expanded to rank 4 first); the gradients are summed back over the broadcast axes.
import { dimsOf, nhwcTensor, permute, plainTensor, sumToShape, TO_NCHW, TO_NHWC } from './tfjsLayout';
import type { Act, Tensor, Tf, TfjsOp } from './tfjsTypes';

/** An operand as the binary op uses it, and how to take a gradient back to the original activation. */
interface Operand {
  readonly t: Tensor;
  /** A gradient of the op's result summed to this operand and returned in the activation's layout. */
  back(tf: Tf, g: Tensor): Tensor;
}

function operand(tf: Tf, act: Act, useNhwc: boolean, label: string): Operand {
  const dims = dimsOf(act);
  if (!useNhwc) {
    const t = plainTensor(tf, act);
    return { t, back: (tf2, g) => toLayout(tf2, sumToShape(tf2, g, t.shape), act) };
  }
  if (act.nhwc) return { t: act.t, back: (tf2, g) => sumToShape(tf2, g, act.t.shape) };
  // a lower-rank or NCHW operand: pad to rank 4 with leading ones, then permute to NHWC
  const rank4 = [...new Array<number>(4 - dims.length).fill(1), ...dims];
  const t = nhwcTensor(tf, { t: tf.reshape(act.t, rank4), nhwc: false }, label);
  return { t, back: (tf2, g) => tf2.reshape(permute(tf2, sumToShape(tf2, g, t.shape), TO_NCHW), dims) };
}

/** A plain gradient into the layout of `act` (plain operands are always given back plain). */
function toLayout(tf: Tf, g: Tensor, act: Act): Tensor {
  return act.nhwc ? permute(tf, g, TO_NHWC) : g;
}

/** A broadcasting binary op from its forward and the gradients of its two operands. */
function binary(forward: (tf: Tf, a: Tensor, b: Tensor) => Tensor, grads: (tf: Tf, a: Tensor, b: Tensor, dy: Tensor, wanted: readonly boolean[]) => [Tensor | undefined, Tensor | undefined]): TfjsOp {
  return {
    forward: ({ tf, label }, [actA, actB]) => {
      const a = actA!;
      const b = actB!;
      const rank = Math.max(a.t.rank, b.t.rank);
      const useNhwc = rank === 4 && (a.nhwc || b.nhwc);
      const left = operand(tf, a, useNhwc, label);
      const right = operand(tf, b, useNhwc, label);
      const y = forward(tf, left.t, right.t);
      return {
        outputs: [{ t: y, nhwc: useNhwc }],
        backward: ([dy], wanted) => {
          if (!dy) return [undefined, undefined];
          const [da, db] = grads(tf, left.t, right.t, dy, wanted);
          return [wanted[0] && da ? left.back(tf, da) : undefined, wanted[1] && db ? right.back(tf, db) : undefined];
        },
      };
    },
  };
}

/** Binary arithmetic ops by ONNX op type. */
export const binaryOps: Record<string, TfjsOp> = {
  Add: binary(
    (tf, a, b) => tf.add(a, b),
    (_tf, _a, _b, dy) => [dy, dy],
  ),
  Sub: binary(
    (tf, a, b) => tf.sub(a, b),
    (tf, _a, _b, dy, wanted) => [dy, wanted[1] ? tf.neg(dy) : undefined],
  ),
  Mul: binary(
    (tf, a, b) => tf.mul(a, b),
    (tf, a, b, dy, wanted) => [wanted[0] ? tf.mul(dy, b) : undefined, wanted[1] ? tf.mul(dy, a) : undefined],
  ),
  Div: binary(
    (tf, a, b) => tf.div(a, b),
    (tf, a, b, dy, wanted) => [wanted[0] ? tf.div(dy, b) : undefined, wanted[1] ? tf.neg(tf.div(tf.mul(dy, a), tf.square(b))) : undefined],
  ),
};
