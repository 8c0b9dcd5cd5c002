// The table of training ops by op type (default ONNX domain), assembled from one file per family.
import { activationOps } from './activationOps';
import { batchNormOp } from './batchNormOp';
import { convOp } from './convOp';
import { elementwiseOps } from './elementwiseOps';
import { matmulOps } from './matmulOps';
import { poolOps } from './poolOps';
import { shapeOps } from './shapeOps';
import type { TrainingOp } from './trainingOp';

/** Every op a model can be trained through. */
export const trainingOps: Readonly<Record<string, TrainingOp>> = {
  Conv: convOp,
  BatchNormalization: batchNormOp,
  ...matmulOps,
  ...activationOps,
  ...elementwiseOps,
  ...poolOps,
  ...shapeOps,
};
