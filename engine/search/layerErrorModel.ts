// A small ONNX model that measures, for one layer and every candidate rank at once, the output error
// of the factorized layer on a batch of its real inputs x, given the original layer's real outputs Y
// (both from the calibration run; Y0 is Y without the bias): the factorized chain of every rank gives
// Y_r, computed as the rewrite computes it; the differences D_r = Y_r - Y0 (the bias is the same on both
// sides) are reduced to per-channel sums of D and D^2 and the sum of Y^2 (a few numbers, not the
// activations). The original weight is not in the model: VGG-16's fc6 would add 0.4 GB to it.
//
// The ranks share one set of factors, those of the largest rank: HOSVD and SVD truncations nest (the
// factors of a smaller rank are the leading rows / columns of the larger rank's), so the first factor
// runs once at the largest rank and each rank takes the leading channels of its output. A layer's
// error model therefore holds about one copy of its weight's size, not one per rank: the stacked
// weight changes W_r - W of every rank took 568 MB for one 2048 x 1024 layer of ResNet-50.
import { HalocError } from '../errors';
import { lowRankParams } from '../factorize/compressModel';
import type { LayerFactors, SvdFactors, TuckerFactors } from '../factorize/layerFactors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { attributeFloat, attributeInt } from '../onnx/attributes';
import { transposeValues } from '../onnx/constTensor';
import { DataType } from '../onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';

/** The error model of one layer and what its outputs mean. */
export interface LayerErrorModel {
  readonly proto: onnx.IModelProto;
  /** Output channels of the layer (C); outputs `sumD` and `sumD2` hold K x C values, rank-major. */
  readonly channels: number;
  readonly rankCount: number;
}

/** Output names of an error model. */
export const errorOutputs = { sumD: 'sum_d', sumD2: 'sum_d2', sumY2: 'sum_y2', shapeY: 'shape_y' } as const;

/** The ops an error model can be built for. */
const supportedOps: ReadonlySet<string> = new Set(['Conv', 'Gemm', 'MatMul']);

/**
 * Builds the error model of `layer` at `ranks` (ascending) from `factors`, the HOSVD / SVD factors
 * (no HOOI) at the largest of them; Tucker-2 ranks are clipped per mode as factorsAtRank clips them.
 * Its inputs: `x` (the layer's input) and `y` (the layer's output, bias included).
 */
export function layerErrorModel(model: OnnxModel, layer: LayerAnalysis, factors: LayerFactors, ranks: readonly number[]): LayerErrorModel {
  const node = model.graph.node?.[layer.nodeIndex] ?? {};
  const inputRank = layer.inputShape?.length ?? 0;
  const outputRank = layer.outputShape?.length ?? 0;
  if (!supportedOps.has(layer.op)) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': ${layer.op} has no error model`);
  if (inputRank < 2 || outputRank < 2) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': its input and output shapes are not resolved`);
  if (ranks.length === 0 || ranks.some((r, i) => !Number.isInteger(r) || r < 1 || (i > 0 && r <= ranks[i - 1]!))) throw new HalocError('BAD_ARGUMENT', `layer '${layer.name}': error-model ranks must be ascending positive integers, not [${ranks.join(', ')}]`);
  const b = new GraphBuilder({ name: 'layer_error', opset: 13 });
  b.input('x', Array.from({ length: inputRank }, (_, i) => `d${i}`));
  b.input('y', Array.from({ length: outputRank }, (_, i) => `o${i}`));
  const biasName = node.input?.[2];
  if (biasName) {
    const bias = model.constants.get(biasName);
    if (!bias) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': its bias '${biasName}' is not a constant`);
    b.node('Sub', ['y', b.initializer(biasTensor(layer, node, bias.dims, bias.toFloat32(), outputRank))], {}, { outputs: ['y0'] });
  } else {
    b.node('Identity', ['y'], {}, { outputs: ['y0'] });
  }
  const chains = new ChainBuilder(b, layer, node);
  const stacked = factors.kind === 'tucker2' ? chains.tucker(factors, ranks) : chains.svd(factors, ranks);
  const [d = ''] = b.node('Sub', [stacked, 'y0']);
  // d is [K, ...output]: reduce every axis but the rank axis and the channel axis
  const channelAxis = 1 + (layer.op === 'MatMul' ? outputRank - 1 : 1);
  const axes = Array.from({ length: outputRank + 1 }, (_, i) => i).filter((i) => i !== 0 && i !== channelAxis);
  b.node('ReduceSum', [d, b.initializer(int64Tensor('axes', [axes.length], axes))], { keepdims: 0 }, { outputs: [errorOutputs.sumD] });
  b.node('ReduceSumSquare', [d], { axes, keepdims: 0 }, { outputs: [errorOutputs.sumD2] });
  b.node('ReduceSumSquare', ['y'], { keepdims: 0 }, { outputs: [errorOutputs.sumY2] });
  b.node('Shape', ['y'], {}, { outputs: [errorOutputs.shapeY] });
  for (const name of Object.values(errorOutputs)) b.output(name, undefined, name === errorOutputs.shapeY ? DataType.INT64 : DataType.FLOAT);
  const channels = factors.kind === 'tucker2' ? factors.lastCR.length / factors.rankOut : factors.rightRO.length / factors.rank;
  return { proto: b.build(), channels, rankCount: ranks.length };
}

/** Float32 elements an error model of `layer` at `ranks` holds (the shared factors), for memory bounds. */
export function errorModelElements(layer: LayerAnalysis, ranks: readonly number[]): number {
  const shape = layer.lowRankShape;
  const top = ranks.length > 0 ? Math.max(...ranks) : 0;
  if (!shape) return 0;
  if (shape.kind === 'svd') return lowRankParams(shape, Math.min(top, shape.inFeatures, shape.outFeatures));
  const { inChannels: ci, outChannels: co, kernelElements: k } = shape;
  const perRank = ranks.reduce((sum, r) => sum + Math.min(r, co) * (Math.min(r, ci) * k + co), 0);
  return Math.min(top, ci) * ci + perRank;
}

/** The bias as it is added to the layer's output, shaped to broadcast against it: Conv [C, 1, ...], Gemm beta * C. */
function biasTensor(layer: LayerAnalysis, node: onnx.INodeProto, dims: readonly number[], values: Float32Array, outputRank: number): onnx.ITensorProto {
  if (layer.op === 'Conv') return float32Tensor('bias', [values.length, ...Array.from({ length: outputRank - 2 }, () => 1)], values);
  const beta = attributeFloat(node, 'beta', 1);
  return float32Tensor('bias', dims, beta === 1 ? values : values.map((v) => v * beta));
}

/** Adds the factorized chains of one layer to an error model; each method returns the stacked [K, ...output] tensor. */
class ChainBuilder {
  private readonly kernel: number[];
  private intCount = 0;

  constructor(
    private readonly b: GraphBuilder,
    private readonly layer: LayerAnalysis,
    private readonly node: onnx.INodeProto,
  ) {
    this.kernel = (layer.weightShape ?? []).slice(2).map(() => 1);
  }

  /** Tucker-2: the first 1x1 conv at the largest rank, then per rank its leading channels, the core conv and the last 1x1 conv. */
  tucker(f: TuckerFactors, ranks: readonly number[]): string {
    const [outChannels = 0, inChannels = 0, ...kernel] = this.layer.weightShape ?? [];
    const k = kernel.reduce((p, d) => p * d, 1);
    const first = this.b.initializer(float32Tensor('first', [f.rankIn, inChannels, ...this.kernel], f.firstRC));
    const [t = ''] = this.b.node('Conv', ['x', first], { kernel_shape: this.kernel });
    const coreAttributes = (this.node.attribute ?? []).filter((a) => a.name !== 'group');
    const outputs = ranks.map((rank, i) => {
      const rankIn = Math.min(rank, f.rankIn);
      const rankOut = Math.min(rank, f.rankOut);
      const core = new Float32Array(rankOut * rankIn * k);
      for (let a = 0; a < rankOut; a++) core.set(f.core.subarray(a * f.rankIn * k, (a * f.rankIn + rankIn) * k), a * rankIn * k);
      const last = new Float32Array(outChannels * rankOut);
      for (let o = 0; o < outChannels; o++) last.set(f.lastCR.subarray(o * f.rankOut, o * f.rankOut + rankOut), o * rankOut);
      const leading = this.slice(t, 0, rankIn, 1);
      const coreName = this.b.initializer(float32Tensor(`core_${i}`, [rankOut, rankIn, ...kernel], core));
      this.b.copyNode({ name: `core_conv_${i}`, opType: 'Conv', attribute: coreAttributes }, [leading, coreName], [`core_out_${i}`]);
      const lastName = this.b.initializer(float32Tensor(`last_${i}`, [outChannels, rankOut, ...this.kernel], last));
      return this.b.node('Conv', [`core_out_${i}`, lastName], { kernel_shape: this.kernel })[0]!;
    });
    return this.stack(outputs);
  }

  /**
   * SVD: the first factor at the largest rank, then the second factor in segments between consecutive
   * ranks (each segment's rows once), summed cumulatively: Y_r = sum of the segments up to r.
   */
  svd(f: SvdFactors, ranks: readonly number[]): string {
    const inFeatures = f.leftIR.length / f.rank;
    const outFeatures = f.rightRO.length / f.rank;
    const conv = this.layer.op === 'Conv';
    const featureAxis = conv ? 1 : -1;
    let t: string;
    if (conv) {
      const attributes = (this.node.attribute ?? []).filter((a) => a.name !== 'group');
      const left = this.b.initializer(float32Tensor('left', [f.rank, inFeatures, ...this.kernel], transposeValues(f.leftIR, [inFeatures, f.rank], [1, 0])));
      this.b.copyNode({ name: 'svd_in', opType: 'Conv', attribute: attributes }, ['x', left], ['t']);
      t = 't';
    } else {
      const left = this.b.initializer(float32Tensor('left', [inFeatures, f.rank], f.leftIR));
      const gemm = { transA: attributeInt(this.node, 'transA', 0), alpha: { float: attributeFloat(this.node, 'alpha', 1) } };
      [t = ''] = this.layer.op === 'Gemm' ? this.b.node('Gemm', ['x', left], gemm) : this.b.node('MatMul', ['x', left]);
    }
    const segments: string[] = [];
    let start = 0;
    for (const [i, rank] of ranks.entries()) {
      const end = Math.min(rank, f.rank);
      // a rank past the factors' size adds nothing: its segment is empty, Y_r equals the previous rank's
      if (end === start) {
        segments.push(this.b.node('Sub', ['y0', 'y0'])[0]!);
        continue;
      }
      const rows = f.rightRO.subarray(start * outFeatures, end * outFeatures);
      const part = this.slice(t, start, end, featureAxis);
      const right = conv
        ? this.b.initializer(float32Tensor(`right_${i}`, [outFeatures, end - start, ...this.kernel], transposeValues(rows, [end - start, outFeatures], [1, 0])))
        : this.b.initializer(float32Tensor(`right_${i}`, [end - start, outFeatures], rows));
      segments.push(this.b.node(conv ? 'Conv' : 'MatMul', [part, right], conv ? { kernel_shape: this.kernel } : {})[0]!);
      start = end;
    }
    const axis = this.b.initializer(int64Tensor('cumsum_axis', [], [0]));
    return this.b.node('CumSum', [this.stack(segments), axis])[0]!;
  }

  /** Channels [start, end) of `tensor` along `axis`. */
  private slice(tensor: string, start: number, end: number, axis: number): string {
    return this.b.node('Slice', [tensor, this.ints([start]), this.ints([end]), this.ints([axis])])[0]!;
  }

  /** [K, ...] from K tensors of one shape. */
  private stack(tensors: readonly string[]): string {
    const zero = this.ints([0]);
    const expanded = tensors.map((t) => this.b.node('Unsqueeze', [t, zero])[0]!);
    return this.b.node('Concat', expanded, { axis: 0 })[0]!;
  }

  /** A new int64 initializer [values.length]. */
  private ints(values: readonly number[]): string {
    return this.b.initializer(int64Tensor(`ints_${this.intCount++}`, [values.length], values));
  }
}
