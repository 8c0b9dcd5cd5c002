// The small ONNX models whose latency is a layer's table entry: the original layer alone (with the
// activation onnxruntime fuses into it, see fusedActivation.ts), at its real input shape and batch, and exactly the subgraph the rewrite produces for it at a given rank (built by
// the rewrite itself, from random factors of the right shapes: latency does not depend on values).
import { HalocError } from '../errors';
import type { LayerFactors } from '../factorize/layerFactors';
import { rewriteModel } from '../factorize/rewriteModel';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { tuckerRanks, type LowRankShape } from '../graph/lowRankCost';
import { isStatic } from '../graph/valueInfo';
import { float32Tensor, GraphBuilder } from '../onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx } from '../onnx/writeOnnx';
import { seededNormal } from '../random';
import { fusedActivationIndex } from './fusedActivation';
import type { TimedInput } from './timeSession';

/** Benchmark models of one layer. */
export interface LayerBenchModels {
  readonly inputs: readonly TimedInput[];
  readonly original: Uint8Array;
  /** The rewritten layer at equal rank r (Tucker-2 ranks clipped per mode). */
  atRank(rank: number): Uint8Array;
}

/** Builds the benchmark models of a compressible layer of `model`. */
export function layerBenchModels(model: OnnxModel, layer: LayerAnalysis): LayerBenchModels {
  const node = model.graph.node?.[layer.nodeIndex];
  const shape = layer.lowRankShape;
  if (!node || !shape) throw new HalocError('BAD_ARGUMENT', `layer '${layer.name}' is not compressible`);
  if (!isStatic(layer.inputShape ?? undefined)) throw new HalocError('BAD_ARGUMENT', `layer '${layer.name}': its input shape is not resolved; give --input-shape`);
  const inputDims = layer.inputShape as number[];
  const builder = new GraphBuilder({ name: 'layer', opset: model.opsetVersion, irVersion: 8 });
  builder.input('x', inputDims);
  const inputs = (node.input ?? []).map((name, i) => {
    if (i === 0 || !name) return i === 0 ? 'x' : '';
    const constant = model.constants.get(name);
    if (!constant) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': input ${i} is not a constant`);
    return builder.initializer(float32Tensor(`c${i}`, constant.dims, scaled(seededNormal(constant.elementCount, i), 0.05)));
  });
  const activation = model.graph.node?.[fusedActivationIndex(model, layer) ?? -1];
  if (activation) {
    builder.copyNode(node, inputs, ['z']);
    builder.copyNode(activation, ['z', ...(activation.input ?? []).slice(1).map((name, i) => copyConstant(builder, model, name, `a${i}`))], ['y']);
  } else {
    builder.copyNode(node, inputs, ['y']);
  }
  builder.output('y');
  const original = encodeOnnx(builder.build());
  const single = decodeOnnxModel(original, 'layer.onnx');
  const local = { ...layer, nodeIndex: 0 };
  return {
    inputs: [{ name: 'x', dims: inputDims }],
    original,
    atRank: (rank) => encodeOnnx(rewriteModel(single, [{ layer: local, factors: randomFactors(shape, rank) }])),
  };
}

/** Factors of the right shapes with random values. */
export function randomFactors(shape: LowRankShape, rank: number): LayerFactors {
  if (shape.kind === 'svd') {
    const r = Math.min(rank, shape.inFeatures, shape.outFeatures);
    return { kind: 'svd', rank: r, leftIR: seededNormal(shape.inFeatures * r, 1), rightRO: seededNormal(r * shape.outFeatures, 2) };
  }
  const { rankIn, rankOut } = tuckerRanks(shape, rank);
  return {
    kind: 'tucker2',
    rankIn,
    rankOut,
    firstRC: seededNormal(rankIn * shape.inChannels, 1),
    core: seededNormal(rankOut * rankIn * shape.kernelElements, 2),
    lastCR: seededNormal(shape.outChannels * rankOut, 3),
  };
}

/** Copies a constant input of an activation (Clip's min / max) into the benchmark model. */
function copyConstant(builder: GraphBuilder, model: OnnxModel, name: string, as: string): string {
  const constant = name ? model.constants.get(name) : undefined;
  return constant ? builder.initializer(float32Tensor(as, constant.dims, constant.toFloat32())) : '';
}

function scaled(values: Float32Array, factor: number): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = (values[i] ?? 0) * factor;
  return values;
}
