// Gradients of the elementwise activations: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish,
// Tanh, and the identities (Identity, Dropout in inference form).
import { attributeFloat } from '../../onnx/attributes';
import { DataType } from '../../onnx/dataType';
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';
import { inputOf, outputOf, unaryOp, type TrainingOp } from './trainingOp';

/** dy where `mask` (a bool tensor) holds, 0 elsewhere. */
function masked(g: TrainingGraph, mask: string, dy: string): string {
  return g.node('Where', [mask, dy, g.scalar(0)], g.dims(dy));
}

function compare(g: TrainingGraph, op: 'Greater' | 'Less', x: string, bound: string): string {
  return g.node(op, [x, bound], g.dims(x));
}

/** The Clip bounds of a node (inputs from opset 11, attributes before). */
function clipBounds(g: TrainingGraph, node: onnx.INodeProto): [string | undefined, string | undefined] {
  const fromInput = (i: number): string | undefined => (inputOf(node, i) ? inputOf(node, i) : undefined);
  const hasAttr = (name: string): boolean => (node.attribute ?? []).some((a) => a.name === name);
  const min = fromInput(1) ?? (hasAttr('min') ? g.scalar(attributeFloat(node, 'min', 0)) : undefined);
  const max = fromInput(2) ?? (hasAttr('max') ? g.scalar(attributeFloat(node, 'max', 0)) : undefined);
  return [min, max];
}

/** Training ops of this file by op type. */
export const activationOps: Record<string, TrainingOp> = {
  // dy * float(y > 0): measured faster in onnxruntime than Where or Sign
  Relu: unaryOp((g, node, dy) => g.node('Mul', [dy, g.node('Cast', [compare(g, 'Greater', outputOf(node), g.scalar(0))], g.dims(dy), { to: DataType.FLOAT })], g.dims(dy))),
  LeakyRelu: unaryOp((g, node, dy) => {
    const slope = g.node('Mul', [dy, g.scalar(attributeFloat(node, 'alpha', 0.01))], g.dims(dy));
    return g.node('Where', [compare(g, 'Greater', inputOf(node, 0), g.scalar(0)), dy, slope], g.dims(dy));
  }),
  Clip: {
    differentiable: () => [0],
    backward: (g, node, [dy], wanted) => {
      if (!wanted[0] || !dy) return [undefined];
      const x = inputOf(node, 0);
      const [min, max] = clipBounds(g, node);
      let mask: string | undefined;
      if (min) mask = compare(g, 'Greater', x, min);
      if (max) {
        const below = compare(g, 'Less', x, max);
        mask = mask ? g.node('And', [mask, below], g.dims(x)) : below;
      }
      return [mask ? masked(g, mask, dy) : dy];
    },
  },
  Sigmoid: unaryOp((g, node, dy) => {
    const y = outputOf(node);
    const slope = g.node('Mul', [y, g.node('Sub', [g.scalar(1), y], g.dims(y))], g.dims(y));
    return g.node('Mul', [dy, slope], g.dims(dy));
  }),
  HardSigmoid: unaryOp((g, node, dy) => {
    const alpha = attributeFloat(node, 'alpha', 0.2);
    const beta = attributeFloat(node, 'beta', 0.5);
    const x = inputOf(node, 0);
    // slope alpha where 0 < alpha x + beta < 1
    const inside = g.node('And', [compare(g, 'Greater', x, g.scalar(-beta / alpha)), compare(g, 'Less', x, g.scalar((1 - beta) / alpha))], g.dims(x));
    return masked(g, inside, g.node('Mul', [dy, g.scalar(alpha)], g.dims(dy)));
  }),
  HardSwish: unaryOp((g, node, dy) => {
    const x = inputOf(node, 0);
    // y = x * clip(x / 6 + 1/2, 0, 1): slope 0 below -3, 1 above 3, x / 3 + 1/2 between
    const middle = g.node('Add', [g.node('Mul', [x, g.scalar(1 / 3)], g.dims(x)), g.scalar(0.5)], g.dims(x));
    const slope = g.node('Where', [compare(g, 'Less', x, g.scalar(-3)), g.scalar(0), g.node('Where', [compare(g, 'Greater', x, g.scalar(3)), g.scalar(1), middle], g.dims(x))], g.dims(x));
    return g.node('Mul', [dy, slope], g.dims(dy));
  }),
  Tanh: unaryOp((g, node, dy) => {
    const y = outputOf(node);
    const slope = g.node('Sub', [g.scalar(1), g.node('Mul', [y, y], g.dims(y))], g.dims(y));
    return g.node('Mul', [dy, slope], g.dims(dy));
  }),
  Identity: unaryOp((_g, _node, dy) => dy),
  Dropout: unaryOp((_g, _node, dy) => dy),
};
