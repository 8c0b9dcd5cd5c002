// The decomposition basis of one compressible layer (Tucker-2 HOSVD or SVD), its error for every
// rank, and its factors at a chosen rank. The weight is read here, once per layer.
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { attributeInt } from '../onnx/attributes';
import type { LayerFactors } from './layerFactors';
import { svdBasis, svdErrorByRank, svdFactors, type SvdBasis } from './svdFactors';
import { tuckerBasis, tuckerErrorByRank, tuckerFactors, type TuckerVectors } from './tucker2';

/** A layer's basis (Tucker-2: with its weight as stored, which the factors of a rank are computed from). */
export type LayerBasis =
  | { readonly kind: 'tucker2'; readonly weight: Float32Array; readonly basis: TuckerVectors; readonly errorByRank: Float64Array }
  | { readonly kind: 'svd'; readonly basis: SvdBasis; readonly errorByRank: Float64Array };

/** Computes the basis of a compressible layer. */
export async function layerBasis(model: OnnxModel, layer: LayerAnalysis): Promise<LayerBasis> {
  const shape = layer.lowRankShape;
  if (!layer.compressible || !shape) throw new HalocError('BAD_ARGUMENT', `layer '${layer.name}' cannot be factorized (${layer.reason ?? 'not compressible'})`);
  const node = model.graph.node?.[layer.nodeIndex] ?? {};
  const constant = model.constants.get(node.input?.[1] ?? '');
  if (!constant) throw new HalocError('UNSUPPORTED', `layer '${layer.name}': its weight is not a constant`);
  const raw = constant.toFloat32();
  if (shape.kind === 'tucker2') {
    const full = await tuckerBasis(raw, shape.outChannels, shape.inChannels, shape.kernelElements);
    // the core (float64, twice the weight's size) is not kept: the factors of a rank compute their own
    const { outChannels, inChannels, kernelElements, outSpectrum, inSpectrum, outVectors, inVectors } = full;
    const vectors: TuckerVectors = { outChannels, inChannels, kernelElements, outSpectrum, inSpectrum, outVectors, inVectors };
    return { kind: 'tucker2', weight: raw, basis: vectors, errorByRank: tuckerErrorByRank(full) };
  }
  // SVD works on W [in, out] with y = x W: Conv and Gemm(transB) store the transpose [out, in].
  const storedAsOutIn = layer.op === 'Conv' || (layer.op === 'Gemm' && attributeInt(node, 'transB', 0) === 1);
  const basis = await svdBasis(raw, shape.inFeatures, shape.outFeatures, storedAsOutIn ? 'out-in' : 'in-out');
  return { kind: 'svd', basis, errorByRank: svdErrorByRank(basis) };
}

/** Factors of the layer at an equal rank r (Tucker-2 ranks are clipped per mode). */
export async function factorsAtRank(layerBasisValue: LayerBasis, rank: number, hooiIterations = 0): Promise<LayerFactors> {
  if (layerBasisValue.kind === 'svd') return svdFactors(layerBasisValue.basis, Math.min(rank, layerBasisValue.basis.singularValues.length));
  const { basis, weight } = layerBasisValue;
  return tuckerFactors(weight, basis, Math.min(rank, basis.inChannels), Math.min(rank, basis.outChannels), hooiIterations);
}

/** The smallest rank whose relative error is at most sqrt(1 - energyKept) (keeps that share of ||W||^2). */
export function rankForEnergy(errorByRank: Float64Array, energyKept: number): number {
  const maxError = Math.sqrt(Math.max(0, 1 - energyKept));
  const index = errorByRank.findIndex((e) => e <= maxError + 1e-12);
  return index < 0 ? errorByRank.length : index + 1;
}

/** A layer's spectrum as reports show it: singular values (SVD) or the two mode spectra (Tucker-2). */
export interface LayerSpectrum {
  /** Singular values of W (SVD), or of the output-channel mode unfolding (Tucker-2), descending. */
  readonly singularValues: readonly number[];
  /** Tucker-2 only: singular values of the input-channel mode unfolding, descending. */
  readonly inModeSingularValues?: readonly number[];
  /** Relative reconstruction error ||W - W_r|| / ||W|| for r = 1, 2, ... */
  readonly errorByRank: readonly number[];
}

/** The spectrum and error-by-rank of a computed basis. */
export function layerSpectrum(value: LayerBasis): LayerSpectrum {
  const round = (values: ArrayLike<number>): number[] => Array.from(values, (v) => Number(v.toPrecision(6)));
  if (value.kind === 'svd') return { singularValues: round(value.basis.singularValues), errorByRank: round(value.errorByRank) };
  return {
    singularValues: round(value.basis.outSpectrum.map(Math.sqrt)),
    inModeSingularValues: round(value.basis.inSpectrum.map(Math.sqrt)),
    errorByRank: round(value.errorByRank),
  };
}
