// How one ONNX op trains: which inputs take gradients, its forward in training form, its backward.
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';

/** Gradient of each input (undefined where none is wanted or none flows). */
export type InputGradients = (string | undefined)[];

/** The training behaviour of one op type. */
export interface TrainingOp {
  /** Input positions that carry gradients (the others are shapes, indices, constants). */
  differentiable(node: onnx.INodeProto): readonly number[];
  /** Emits the node in its training form (absent: the node as it is). */
  forward?(g: TrainingGraph, node: onnx.INodeProto): void;
  /**
   * Emits the gradients of the wanted inputs from the gradients of the outputs (`dOutputs[i]`
   * undefined: nothing flows back through output i).
   */
  backward(g: TrainingGraph, node: onnx.INodeProto, dOutputs: readonly (string | undefined)[], wanted: readonly boolean[]): InputGradients;
}

/** Input `index` of a node ('' when omitted). */
export function inputOf(node: onnx.INodeProto, index: number): string {
  return node.input?.[index] ?? '';
}

/** Output `index` of a node. */
export function outputOf(node: onnx.INodeProto, index = 0): string {
  return node.output?.[index] ?? '';
}

/** A TrainingOp whose input 0 alone takes a gradient. */
export function unaryOp(backward: (g: TrainingGraph, node: onnx.INodeProto, dy: string) => string): TrainingOp {
  return {
    differentiable: () => [0],
    backward: (g, node, [dy], wanted) => [wanted[0] && dy ? backward(g, node, dy) : undefined],
  };
}
