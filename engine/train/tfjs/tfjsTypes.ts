// The types shared by the TensorFlow.js interpreter: tfjs itself (types only, so importing the engine
// never loads it), activations with their memory layout, and the contract of one op.
import type * as tfjs from '@tensorflow/tfjs';
import type { onnx } from '../../onnx/proto';
import type { BatchNormMode } from '../trainingGraph';

/** The TensorFlow.js namespace. */
export type Tf = typeof tfjs;

/** A TensorFlow.js tensor. */
export type Tensor = tfjs.Tensor;

/**
 * A tensor of the ONNX graph. A rank-4 tensor whose ONNX layout is NCHW may be stored as NHWC
 * (`nhwc`), the layout of tfjs convolutions; every other tensor is stored as ONNX lays it out.
 */
export interface Act {
  readonly t: Tensor;
  readonly nhwc: boolean;
}

/** What an op sees of its node besides its input tensors. */
export interface OpContext {
  readonly tf: Tf;
  readonly node: onnx.INodeProto;
  /** The node's name (or OpType#index) for messages. */
  readonly label: string;
  readonly opset: number;
  readonly batchNorm: BatchNormMode;
  /** Values of a constant integer input (shapes, axes, pads); undefined when the input is absent. */
  ints(index: number): number[] | undefined;
  /** Values of a constant float input (Clip bounds, Pad value); undefined when the input is absent. */
  floats(index: number): number[] | undefined;
}

/** Input gradients (in the layouts the inputs arrived in) from output gradients; only `wanted` ones. */
export type Backward = (dOutputs: readonly (Tensor | undefined)[], wanted: readonly boolean[]) => (Tensor | undefined)[];

/** The outputs of one node's forward and how to take its gradient. */
export interface ForwardResult {
  readonly outputs: readonly Act[];
  readonly backward: Backward;
  /** New BatchNormalization running statistics by input name (batch-statistics mode). */
  readonly running?: ReadonlyMap<string, Tensor>;
}

/** One ONNX op type in tfjs ops. */
export interface TfjsOp {
  forward(context: OpContext, inputs: readonly (Act | undefined)[]): ForwardResult;
}
