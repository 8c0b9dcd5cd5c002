// Elementwise activations and identities in tfjs ops, with their gradients. They keep the layout of
// their input, so NHWC activations flow through them untouched.
import { HalocError } from '../../errors';
import { attributeFloat, attributeInt, findAttribute } from '../../onnx/attributes';
import { DataType } from '../../onnx/dataType';
import type { Act, OpContext, Tensor, Tf, TfjsOp } from './tfjsTypes';

/** A unary op from its forward and its dx given (x, y, dy). */
function unary(forward: (tf: Tf, x: Tensor, context: OpContext) => Tensor, backward: (tf: Tf, x: Tensor, y: Tensor, dy: Tensor, context: OpContext) => Tensor): TfjsOp {
  return {
    forward: (context, [input]) => {
      const x = input!;
      const y = forward(context.tf, x.t, context);
      return {
        outputs: [{ t: y, nhwc: x.nhwc }],
        backward: ([dy], wanted) => [wanted[0] && dy ? backward(context.tf, x.t, y, dy, context) : undefined],
      };
    },
  };
}

/** An op that passes its first input through (Identity, Dropout in inference, Cast to float). */
const passThrough: TfjsOp = {
  forward: (_context, [input]) => ({
    outputs: [input as Act],
    backward: ([dy], wanted) => [wanted[0] ? dy : undefined],
  }),
};

/** The Clip bounds (inputs from opset 11, attributes before); undefined means unbounded. */
function clipBounds(context: OpContext): [number | undefined, number | undefined] {
  if (context.opset >= 11) return [context.floats(1)?.[0], context.floats(2)?.[0]];
  const bound = (name: string): number | undefined => (findAttribute(context.node, name) ? attributeFloat(context.node, name, 0) : undefined);
  return [bound('min'), bound('max')];
}

/** dy where `mask` holds, 0 elsewhere. */
function masked(tf: Tf, dy: Tensor, mask: Tensor): Tensor {
  return tf.mul(dy, tf.cast(mask, 'float32'));
}

/** Activation ops by ONNX op type. */
export const activationOps: Record<string, TfjsOp> = {
  Relu: unary(
    (tf, x) => tf.relu(x),
    (tf, _x, y, dy) => tf.mul(dy, tf.step(y)),
  ),
  LeakyRelu: unary(
    (tf, x, c) => tf.leakyRelu(x, attributeFloat(c.node, 'alpha', 0.01)),
    (tf, x, _y, dy, c) => tf.mul(dy, tf.step(x, attributeFloat(c.node, 'alpha', 0.01))),
  ),
  Clip: unary(
    (tf, x, c) => {
      const [min, max] = clipBounds(c);
      return tf.clipByValue(x, min ?? -Number.MAX_VALUE, max ?? Number.MAX_VALUE);
    },
    (tf, x, _y, dy, c) => {
      const [min, max] = clipBounds(c);
      const above = min === undefined ? undefined : tf.greater(x, min);
      const below = max === undefined ? undefined : tf.less(x, max);
      const mask = above && below ? tf.logicalAnd(above, below) : (above ?? below);
      return mask ? masked(tf, dy, mask) : dy;
    },
  ),
  Sigmoid: unary(
    (tf, x) => tf.sigmoid(x),
    (tf, _x, y, dy) => tf.mul(dy, tf.mul(y, tf.sub(1, y))),
  ),
  Tanh: unary(
    (tf, x) => tf.tanh(x),
    (tf, _x, y, dy) => tf.mul(dy, tf.sub(1, tf.square(y))),
  ),
  HardSigmoid: unary(
    (tf, x, c) => tf.clipByValue(tf.add(tf.mul(x, attributeFloat(c.node, 'alpha', 0.2)), attributeFloat(c.node, 'beta', 0.5)), 0, 1),
    (tf, _x, y, dy, c) => masked(tf, tf.mul(dy, attributeFloat(c.node, 'alpha', 0.2)), tf.logicalAnd(tf.greater(y, 0), tf.less(y, 1))),
  ),
  HardSwish: unary(
    // y = x * clip(x / 6 + 1/2, 0, 1); slope 0 below -3, 1 above 3, x / 3 + 1/2 between
    (tf, x) => tf.mul(x, tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1)),
    (tf, x, _y, dy) => {
      const middle = tf.add(tf.mul(x, 1 / 3), 0.5);
      const slope = tf.where(tf.less(x, -3), tf.zerosLike(x), tf.where(tf.greater(x, 3), tf.onesLike(x), middle));
      return tf.mul(dy, slope);
    },
  ),
  Identity: passThrough,
  Dropout: passThrough,
};

/** Cast to float (of a float tensor on a training path) is an identity; other casts are not supported here. */
export const castOp: TfjsOp = {
  forward: (context, inputs) => {
    if (attributeInt(context.node, 'to', 0) !== DataType.FLOAT || inputs[0]?.t.dtype !== 'float32') {
      throw new HalocError('UNSUPPORTED', `tensorflow.js training: Cast node '${context.label}' on the path to the output must cast float to float`);
    }
    return passThrough.forward(context, inputs);
  },
};
