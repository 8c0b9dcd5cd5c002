// Which layers can be factorized, how (Tucker-2 or SVD), up to which rank, and for the others why not.
import { attributeInt } from '../onnx/attributes';
import type { ConstTensor } from '../onnx/constTensor';
import type { onnx } from '../onnx/proto';
import { breakEvenRank, maxUsefulRank, type LowRankShape } from './lowRankCost';
import { staticProduct, type ValueInfo } from './valueInfo';

/** The verdict for one layer. */
export type Compressibility =
  | { readonly compressible: true; readonly shape: LowRankShape; readonly maxRank: number; readonly breakEvenRank: number }
  | { readonly compressible: false; readonly reason: string };

/** Decides whether a node can be factorized; `weight(i)` is the constant behind input i, if any. */
export function assessCompressibility(
  node: onnx.INodeProto,
  inputs: readonly (ValueInfo | undefined)[],
  outputs: readonly (ValueInfo | undefined)[],
  weight: (inputIndex: number) => ConstTensor | undefined,
): Compressibility {
  const shape = lowRankShapeOf(node, inputs, outputs, weight);
  if (typeof shape === 'string') return { compressible: false, reason: shape };
  const evenRank = breakEvenRank(shape);
  if (evenRank < 1) return { compressible: false, reason: 'too small: no rank of a factorization needs fewer MACs than the layer' };
  return { compressible: true, shape, maxRank: maxUsefulRank(shape), breakEvenRank: evenRank };
}

/** The factorization shape of a node, or a string saying why it has none. */
function lowRankShapeOf(
  node: onnx.INodeProto,
  inputs: readonly (ValueInfo | undefined)[],
  outputs: readonly (ValueInfo | undefined)[],
  weight: (inputIndex: number) => ConstTensor | undefined,
): LowRankShape | string {
  const op = node.opType ?? '';
  if (node.domain && node.domain !== 'ai.onnx') return `custom op '${node.domain}.${op}'`;
  switch (op) {
    case 'Conv': {
      const group = attributeInt(node, 'group', 1);
      const w = weight(1);
      if (group > 1) {
        const inChannels = inputs[0]?.dims?.[1];
        return inChannels === group ? `depthwise conv (group = ${group}): no channel mixing to factorize` : `grouped conv (group = ${group}): only group-1 convs are factorized`;
      }
      if (!w) return 'dynamic weight: the weight is computed at run time, not a constant';
      const [outChannels = 0, inChannels = 0, ...kernel] = w.dims;
      const kernelElements = kernel.reduce((p, d) => p * d, 1);
      const outputPositions = staticProduct(outputs[0]?.dims) === undefined ? undefined : (staticProduct(outputs[0]?.dims) ?? 0) / outChannels;
      const inputPositions = staticProduct(inputs[0]?.dims) === undefined ? undefined : (staticProduct(inputs[0]?.dims) ?? 0) / inChannels;
      if (outputPositions === undefined || inputPositions === undefined) return 'shape not resolved';
      if (kernelElements === 1) return { kind: 'svd', rows: outputPositions, inFeatures: inChannels, outFeatures: outChannels };
      return { kind: 'tucker2', inChannels, outChannels, kernelElements, inputPositions, outputPositions };
    }
    case 'Gemm': {
      const w = weight(1);
      if (!w || w.dims.length !== 2) return 'dynamic weight: input B is computed at run time';
      const transB = attributeInt(node, 'transB', 0) === 1;
      const [rows, cols] = w.dims as [number, number];
      const rowsOfA = staticProduct(outputs[0]?.dims) === undefined ? undefined : (staticProduct(outputs[0]?.dims) ?? 0) / (transB ? rows : cols);
      if (rowsOfA === undefined) return 'shape not resolved';
      return { kind: 'svd', rows: rowsOfA, inFeatures: transB ? cols : rows, outFeatures: transB ? rows : cols };
    }
    case 'MatMul': {
      const w = weight(1);
      if (!w) return weight(0) ? 'constant left operand: only a constant right-hand weight is factorized' : 'dynamic weight: both operands are computed at run time';
      if (w.dims.length !== 2) return `weight of rank ${w.dims.length}: only 2-D weights are factorized`;
      const [inFeatures, outFeatures] = w.dims as [number, number];
      const outputElements = staticProduct(outputs[0]?.dims);
      if (outputElements === undefined) return 'shape not resolved';
      return { kind: 'svd', rows: outputElements / outFeatures, inFeatures, outFeatures };
    }
    case 'ConvTranspose':
      return 'ConvTranspose: only Conv, Gemm and MatMul are factorized';
    default:
      return `${op} has no weight matrix to factorize`;
  }
}
