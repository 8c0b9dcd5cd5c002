// A small ONNX model that measures, for one layer and every candidate rank at once, the output error
// of the factorized layer on a batch of its real inputs: the original layer gives Y; one convolution
// (or matrix product) with the weight changes of all ranks stacked along the output channels gives
// D_k = Y_rk - Y; per-channel sums of D and D^2 and the sum of Y^2 come back (a few numbers, not the
// activations).
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { attributeInt } from '../onnx/attributes';
import { DataType } from '../onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import { encodeOnnx } from '../onnx/writeOnnx';
import type { StoredWeight } from './rankDeltas';

/** The error model of one layer and what its outputs mean. */
export interface LayerErrorModel {
  readonly bytes: Uint8Array;
  /** Output channels of the layer (C); outputs `sumD` and `sumD2` hold K x C values, rank-major. */
  readonly channels: number;
  readonly rankCount: number;
}

/** Output names of an error model. */
export const errorOutputs = { sumD: 'sum_d', sumD2: 'sum_d2', sumY2: 'sum_y2', shapeY: 'shape_y' } as const;

/** Attributes each op keeps in the opset-13 error model. */
const keptAttributes: Readonly<Record<string, ReadonlySet<string> | 'all'>> = { Conv: 'all', Gemm: new Set(['transA', 'transB', 'alpha', 'beta']), MatMul: new Set() };

/** Builds the error model of `layer` for the weight changes `deltas` (one per rank, stored layout). */
export function layerErrorModel(model: OnnxModel, layer: LayerAnalysis, weight: StoredWeight, deltas: readonly Float32Array[]): LayerErrorModel {
  const node = model.graph.node?.[layer.nodeIndex] ?? {};
  const inputRank = layer.inputShape?.length ?? 0;
  const outputRank = layer.outputShape?.length ?? 0;
  const kept = keptAttributes[layer.op];
  if (!kept) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': ${layer.op} has no error model`);
  if (inputRank < 2 || outputRank < 2) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': its input and output shapes are not resolved`);
  const b = new GraphBuilder({ name: 'layer_error', opset: 13 });
  b.input('x', Array.from({ length: inputRank }, (_, i) => `d${i}`));
  const w = b.initializer(float32Tensor('w', weight.dims, weight.values));
  const bias = node.input?.[2] ? model.constants.get(node.input[2]) : undefined;
  const stacked = stackDeltas(layer, node, weight, deltas);
  const dw = b.initializer(float32Tensor('dw', stacked.dims, stacked.values));
  const attributes = (node.attribute ?? []).filter((a) => kept === 'all' || kept.has(a.name ?? ''));
  const withBias = bias ? ['x', w, b.initializer(float32Tensor('bias', bias.dims, bias.toFloat32()))] : ['x', w];
  b.copyNode({ name: 'original', opType: layer.op, attribute: attributes }, withBias, ['y']);
  b.copyNode({ name: 'delta', opType: layer.op, attribute: attributes.filter((a) => a.name !== 'beta') }, ['x', dw], ['d']);
  const axes = Array.from({ length: outputRank }, (_, i) => i).filter((i) => i !== (layer.op === 'MatMul' ? outputRank - 1 : 1));
  b.node('ReduceSum', ['d', b.initializer(int64Tensor('axes', [axes.length], axes))], { keepdims: 0 }, { outputs: [errorOutputs.sumD] });
  b.node('ReduceSumSquare', ['d'], { axes, keepdims: 0 }, { outputs: [errorOutputs.sumD2] });
  b.node('ReduceSumSquare', ['y'], { keepdims: 0 }, { outputs: [errorOutputs.sumY2] });
  b.node('Shape', ['y'], {}, { outputs: [errorOutputs.shapeY] });
  for (const name of Object.values(errorOutputs)) b.output(name, undefined, name === errorOutputs.shapeY ? DataType.INT64 : DataType.FLOAT);
  return { bytes: encodeOnnx(b.build()), channels: stacked.channels, rankCount: deltas.length };
}

/** The deltas stacked along the output channels: [K Cout, ...] (Conv, Gemm transB) or [in, K out]. */
function stackDeltas(layer: LayerAnalysis, node: onnx.INodeProto, weight: StoredWeight, deltas: readonly Float32Array[]): { values: Float32Array; dims: number[]; channels: number } {
  const count = deltas.length;
  const size = weight.values.length;
  const values = new Float32Array(count * size);
  const [rows = 0, cols = 0] = weight.dims;
  if (layer.op === 'Conv' || (layer.op === 'Gemm' && attributeInt(node, 'transB', 0) === 1)) {
    deltas.forEach((d, k) => values.set(d, k * size));
    return { values, dims: [count * rows, ...weight.dims.slice(1)], channels: rows };
  }
  // [in, out] per rank -> [in, K out]: row i holds the K rows i side by side
  for (let i = 0; i < rows; i++) deltas.forEach((d, k) => values.set(d.subarray(i * cols, (i + 1) * cols), (i * count + k) * cols));
  return { values, dims: [rows, count * cols], channels: cols };
}
