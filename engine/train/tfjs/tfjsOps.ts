// The ONNX op types the TensorFlow.js interpreter can train through (the CNN op set).
import { activationOps, castOp } from './activationOps';
import { batchNormOp } from './batchNormOp';
import { binaryOps } from './binaryOps';
import { convNode, convOp } from './convOp';
import { matmulOps } from './matmulOps';
import { poolOps } from './poolOps';
import { reshapeOps } from './reshapeOps';
import { sliceOps } from './sliceOps';
import { softmaxOp } from './softmaxOp';
import type { TfjsOp } from './tfjsTypes';

/** Ops by ONNX op type (default domain). */
export const tfjsOps: Readonly<Record<string, TfjsOp>> = {
  ...activationOps,
  ...binaryOps,
  ...matmulOps,
  ...poolOps,
  ...reshapeOps,
  ...sliceOps,
  Conv: convOp,
  BatchNormalization: batchNormOp,
  Softmax: softmaxOp,
  Cast: castOp,
};

/** A Conv node with the Relu that alone consumes its output, fused (the conv's own output is never stored). */
export const convReluOp: TfjsOp = { forward: (context, inputs) => convNode(context, inputs, true) };
