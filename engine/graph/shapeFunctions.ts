// The table of shape functions by op type (default ONNX domain), assembled from one file per family.
import type { ShapeFunction } from './shapeContext';
import { convShapeFunctions } from './ops/convShapes';
import { elementwiseShapeFunctions } from './ops/elementwiseShapes';
import { matmulShapeFunctions } from './ops/matmulShapes';
import { resizeReduceShapeFunctions } from './ops/resizeReduceShapes';
import { tensorShapeFunctions } from './ops/tensorShapes';

/** Shape functions for the CNN op set; ops missing here fall back to a run in onnxruntime. */
export const shapeFunctions: Readonly<Record<string, ShapeFunction>> = {
  ...convShapeFunctions,
  ...matmulShapeFunctions,
  ...elementwiseShapeFunctions,
  ...tensorShapeFunctions,
  ...resizeReduceShapeFunctions,
};
