// A compressible layer's weight as the model stores it (the error models of the fast search run the
// original layer with it beside its factorized chains).
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';

/** A layer's weight as stored in the model (Conv [Cout, Cin, k...], Gemm [out, in] or [in, out], MatMul [in, out]). */
export interface StoredWeight {
  readonly values: Float32Array;
  readonly dims: readonly number[];
}

/** Reads the weight (input 1) of a compressible layer. */
export function storedWeight(model: OnnxModel, layer: LayerAnalysis): StoredWeight {
  const node = model.graph.node?.[layer.nodeIndex] ?? {};
  const constant = model.constants.get(node.input?.[1] ?? '');
  if (!constant) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': its weight is not a constant`);
  return { values: constant.toFloat32(), dims: [...constant.dims] };
}
