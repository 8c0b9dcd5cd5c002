// Moving activations between the ONNX layout (NCHW) and the NHWC layout of tfjs convolutions, and
// the helpers every op needs: logical dims, axis mapping, gradients back into an input's layout.
import { HalocError } from '../../errors';
import type { Act, Tensor, Tf } from './tfjsTypes';

/** Permutation NCHW -> NHWC. */
export const TO_NHWC = [0, 2, 3, 1] as const;
/** Permutation NHWC -> NCHW. */
export const TO_NCHW = [0, 3, 1, 2] as const;
/** Storage axis of each logical NCHW axis when stored NHWC. */
const NHWC_POSITION = [0, 3, 1, 2] as const;

/** The ONNX (logical) dims of an activation. */
export function dimsOf(act: Act): number[] {
  const s = act.t.shape;
  return act.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

/** The storage axis of logical axis `axis` (already normalised). */
export function storageAxis(act: Act, axis: number): number {
  return act.nhwc ? NHWC_POSITION[axis]! : axis;
}

/** A plain activation. */
export function plain(t: Tensor): Act {
  return { t, nhwc: false };
}

/** An NHWC activation. */
export function nhwc(t: Tensor): Act {
  return { t, nhwc: true };
}

/** True when a permutation only moves axes of size 1, i.e. is a reshape. */
function isFreePermutation(shape: readonly number[], perm: readonly number[]): boolean {
  const moved = perm.filter((p) => shape[p] !== 1);
  return moved.every((p, i) => i === 0 || p > moved[i - 1]!);
}

/** `t` permuted by `perm`, as a reshape where only unit axes move. */
export function permute(tf: Tf, t: Tensor, perm: readonly number[]): Tensor {
  const shape = t.shape;
  if (isFreePermutation(shape, perm)) return tf.reshape(t, perm.map((p) => shape[p]!));
  return tf.transpose(t, [...perm]);
}

/** The activation's tensor in NHWC order (it must be rank 4). */
export function nhwcTensor(tf: Tf, act: Act, label: string): Tensor {
  if (act.nhwc) return act.t;
  if (act.t.rank !== 4) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' needs a 4-D NCHW input, got rank ${act.t.rank}`);
  return permute(tf, act.t, TO_NHWC);
}

/** The activation's tensor in ONNX order. */
export function plainTensor(tf: Tf, act: Act): Tensor {
  return act.nhwc ? permute(tf, act.t, TO_NCHW) : act.t;
}

/** A gradient computed in NHWC (`gradNhwc`) or ONNX order, moved into the layout `act` is stored in. */
export function gradInLayoutOf(tf: Tf, grad: Tensor, gradNhwc: boolean, act: Act): Tensor {
  if (gradNhwc === act.nhwc) return grad;
  return permute(tf, grad, gradNhwc ? TO_NCHW : TO_NHWC);
}

/** Sum of `g` down to `shape` under numpy broadcasting (same rank or lower). */
export function sumToShape(tf: Tf, g: Tensor, shape: readonly number[]): Tensor {
  const dims = g.shape;
  const offset = dims.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dims.length; i++) if (i < offset || (shape[i - offset] === 1 && dims[i] !== 1)) axes.push(i);
  if (axes.length === 0) return g.shape.length === shape.length ? g : tf.reshape(g, [...shape]);
  const leading = axes.every((a, i) => a === i);
  const summed = leading ? sumLeadingAxes(tf, g, axes.length) : tf.sum(g, axes, true);
  return tf.reshape(summed, [...shape]);
}

/**
 * Sum over the first `count` axes. Over N, H, W of an NHWC tensor it is a global average pool (~5x
 * faster on wasm than a reduction, and ~10x faster than a product with a ones row, whose fresh
 * right operand XNNPACK repacks every time), then a sum over the batch.
 */
export function sumLeadingAxes(tf: Tf, g: Tensor, count: number): Tensor {
  if (g.rank === 4 && count === 3) {
    const [n, h, w, c] = g.shape as [number, number, number, number];
    const pooled = tf.reshape(tf.avgPool(g as never, [h, w], 1, 'valid'), [n, c]);
    return tf.mul(tf.sum(pooled, 0), h * w);
  }
  return tf.sum(g, Array.from({ length: count }, (_, i) => i));
}

/** Normalises a possibly negative axis; throws when it is out of range. */
export function normalAxis(axis: number, rank: number, label: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' has axis ${axis} outside rank ${rank}`);
  return a;
}
