// The small ONNX models whose latency is a layer's table entry: the original layer alone (with the
// activation onnxruntime fuses into it, see fusedActivation.ts), at its real input shape and batch, and exactly the subgraph the rewrite produces for it at a given rank (built by
// the rewrite itself, from random factors of the right shapes: latency does not depend on values).
// A convolution is fed by a producer, a 1x1 convolution that is not counted (see timeKernels), as a
// layer inside a network is fed by the layer before it: fed straight from the model's input, a layer
// ran 5-25% slower than the same layer inside a CIFAR ResNet, timed side by side in one session, most
// of it in its first node (15-18 us against 7-10 us for a Tucker layer's first 1x1 conv at batch 1);
// with the producer the two agreed within 1-3% at batch 32 and 1-7% at batch 1.
import { HalocError } from '../errors';
import type { LayerFactors } from '../factorize/layerFactors';
import { rewriteModel } from '../factorize/rewriteModel';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { tuckerRanks, type LowRankShape } from '../graph/lowRankCost';
import { isStatic } from '../graph/valueInfo';
import { float32Tensor, GraphBuilder } from '../onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx } from '../onnx/writeOnnx';
import { fusedActivationIndex } from './fusedActivation';
import { benchValues, producerPrefix, type TimedInput } from './timeSession';

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
  const fed = layer.op === 'Conv' && inputDims.length === 4 ? addProducer(builder, 'x', inputDims[1] ?? 1) : 'x';
  const inputs = (node.input ?? []).map((name, i) => {
    if (i === 0 || !name) return i === 0 ? fed : '';
    const constant = model.constants.get(name);
    if (!constant) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': input ${i} is not a constant`);
    return builder.initializer(float32Tensor(`c${i}`, constant.dims, benchValues(constant.elementCount, i, 0.05)));
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
  const local = { ...layer, nodeIndex: fed === 'x' ? 0 : 1 };
  return {
    inputs: [{ name: 'x', dims: inputDims }],
    original,
    atRank: (rank) => encodeOnnx(rewriteModel(single, [{ layer: local, factors: randomFactors(shape, rank) }])),
  };
}

/** Adds the producer of a convolution's input: a 1x1 convolution with identity weights (C -> C channels); returns its output. */
function addProducer(builder: GraphBuilder, input: string, channels: number): string {
  const weight = new Float32Array(channels * channels);
  for (let c = 0; c < channels; c++) weight[c * channels + c] = 1;
  builder.initializer(float32Tensor(`${producerPrefix}w`, [channels, channels, 1, 1], weight));
  return builder.node('Conv', [input, `${producerPrefix}w`], { kernel_shape: [1, 1] }, { name: producerPrefix, outputs: [`${producerPrefix}y`] })[0] ?? '';
}

/** Factors of the right shapes with random values (uniform in [-1, 1): latency does not depend on them). */
export function randomFactors(shape: LowRankShape, rank: number): LayerFactors {
  if (shape.kind === 'svd') {
    const r = Math.min(rank, shape.inFeatures, shape.outFeatures);
    return { kind: 'svd', rank: r, leftIR: benchValues(shape.inFeatures * r, 1), rightRO: benchValues(r * shape.outFeatures, 2) };
  }
  const { rankIn, rankOut } = tuckerRanks(shape, rank);
  return {
    kind: 'tucker2',
    rankIn,
    rankOut,
    firstRC: benchValues(rankIn * shape.inChannels, 1),
    core: benchValues(rankOut * rankIn * shape.kernelElements, 2),
    lastCR: benchValues(shape.outChannels * rankOut, 3),
  };
}

/** Copies a constant input of an activation (Clip's min / max) into the benchmark model. */
function copyConstant(builder: GraphBuilder, model: OnnxModel, name: string, as: string): string {
  const constant = name ? model.constants.get(name) : undefined;
  return constant ? builder.initializer(float32Tensor(as, constant.dims, constant.toFloat32())) : '';
}
