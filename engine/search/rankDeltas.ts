// The weight change of a layer factorized at rank r, in the layer's stored layout: W_r - W. The
// factorized chain computes exactly the layer with weight W_r (Tucker-2 and SVD reconstruct a weight
// linearly, and the first 1x1 conv has no bias, so it commutes with zero padding): conv(x, W_r - W)
// is the rewrite's output error on input x, the (shared) bias cancelling out.
import { HalocError } from '../errors';
import type { LayerFactors, SvdFactors, TuckerFactors } from '../factorize/layerFactors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { gemm } from '../linalg/gemm';
import { attributeInt } from '../onnx/attributes';
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

/** W_r - W in the stored layout of `weight`. */
export async function rankDelta(model: OnnxModel, layer: LayerAnalysis, weight: StoredWeight, factors: LayerFactors): Promise<Float32Array> {
  const node = model.graph.node?.[layer.nodeIndex] ?? {};
  const storedOutIn = layer.op === 'Conv' || (layer.op === 'Gemm' && attributeInt(node, 'transB', 0) === 1);
  const reconstructed = factors.kind === 'tucker2' ? await tuckerWeight(factors, weight.dims) : await svdWeight(factors, storedOutIn);
  if (reconstructed.length !== weight.values.length) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': the factors do not match its weight of shape [${weight.dims.join(', ')}]`);
  const delta = new Float32Array(reconstructed.length);
  for (let i = 0; i < delta.length; i++) delta[i] = (reconstructed[i] ?? 0) - (weight.values[i] ?? 0);
  return delta;
}

/** W_r [Cout, Cin, K] = lastCR x core x firstRC, in float64. */
async function tuckerWeight(f: TuckerFactors, dims: readonly number[]): Promise<Float64Array> {
  const [outChannels = 0, inChannels = 0, ...kernel] = dims;
  const k = kernel.reduce((p, d) => p * d, 1);
  const { rankIn, rankOut } = f;
  // core [rOut, rIn, K] -> [rOut, K, rIn], times firstRC [rIn, Cin] -> [rOut, K, Cin]
  const coreOKI = new Float64Array(rankOut * k * rankIn);
  for (let a = 0; a < rankOut; a++) for (let b = 0; b < rankIn; b++) for (let t = 0; t < k; t++) coreOKI[(a * k + t) * rankIn + b] = f.core[(a * rankIn + b) * k + t] ?? 0;
  const projected = await gemm(coreOKI, Float64Array.from(f.firstRC), rankOut * k, rankIn, inChannels);
  // [rOut, K, Cin] -> [rOut, Cin, K], then lastCR [Cout, rOut] x [rOut, Cin K]
  const byIn = new Float64Array(rankOut * inChannels * k);
  for (let a = 0; a < rankOut; a++) for (let t = 0; t < k; t++) for (let i = 0; i < inChannels; i++) byIn[(a * inChannels + i) * k + t] = projected[(a * k + t) * inChannels + i] ?? 0;
  return gemm(Float64Array.from(f.lastCR), byIn, outChannels, rankOut, inChannels * k);
}

/** W_r = left x right as [in, out], or its transpose [out, in]. */
async function svdWeight(f: SvdFactors, outIn: boolean): Promise<Float64Array> {
  const left = Float64Array.from(f.leftIR);
  const right = Float64Array.from(f.rightRO);
  const inFeatures = left.length / f.rank;
  const outFeatures = right.length / f.rank;
  return outIn ? gemm(right, left, outFeatures, f.rank, inFeatures, { transA: true, transB: true }) : gemm(left, right, inFeatures, f.rank, outFeatures);
}
