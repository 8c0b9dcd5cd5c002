// Gradients of the broadcasting binary ops Add, Sub, Mul and Div (each summed back to its input's shape).
import type { TrainingGraph } from '../trainingGraph';
import { inputOf, type InputGradients, type TrainingOp } from './trainingOp';

type BinaryGradient = (g: TrainingGraph, a: string, b: string, dy: string, which: 0 | 1) => string;

function binaryOp(gradient: BinaryGradient): TrainingOp {
  return {
    differentiable: () => [0, 1],
    backward: (g, node, [dy], wanted): InputGradients => {
      const a = inputOf(node, 0);
      const b = inputOf(node, 1);
      return ([0, 1] as const).map((which) => (wanted[which] && dy ? g.unbroadcast(gradient(g, a, b, dy, which), g.dims(which === 0 ? a : b)) : undefined));
    },
  };
}

/** Training ops of this file by op type. */
export const elementwiseOps: Record<string, TrainingOp> = {
  Add: binaryOp((_g, _a, _b, dy) => dy),
  Sub: binaryOp((g, _a, _b, dy, which) => (which === 0 ? dy : g.node('Neg', [dy], g.dims(dy)))),
  Mul: binaryOp((g, a, b, dy, which) => g.node('Mul', [dy, which === 0 ? b : a], g.dims(dy))),
  Div: binaryOp((g, a, b, dy, which) => {
    const overB = g.node('Div', [dy, b], g.dims(dy));
    if (which === 0) return overB;
    // d(a / b)/db = -a / b^2
    return g.node('Neg', [g.node('Mul', [overB, g.node('Div', [a, b], g.dims(dy))], g.dims(dy))], g.dims(dy));
  }),
};
