// One point of a search as a model: the layers factorized at their ranks (the same rewrite as
// `haloc compress`), bias-corrected from calibration data; and its size and predicted latency.
import type { LayerRank } from '../factorize/rankPlan';
import { lowRankParams } from '../factorize/compressModel';
import { rewriteModel, type LayerRewrite } from '../factorize/rewriteModel';
import type { ModelAnalysis } from '../graph/analyzeModel';
import { lowRankMacs } from '../graph/lowRankCost';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import { applyBiasShifts, type BiasShift } from './biasCorrection';
import { layerLatencyMs, type SearchLatency } from './searchLatency';
import type { FactorCache, SearchLayer } from './searchLayers';

/** Ranks by layer name; absent layers are kept. */
export type PointRanks = Readonly<Record<string, LayerRank>>;

/** The per-channel bias shift of a layer at a rank, when measured. */
export type ShiftLookup = (layer: string, rank: number) => Float32Array | undefined;

/** The compressed model of a point, bias-corrected where a shift is known. */
export async function buildPointModel(model: OnnxModel, layers: readonly SearchLayer[], ranks: PointRanks, factors: FactorCache, shiftOf: ShiftLookup): Promise<onnx.IModelProto> {
  const rewrites: LayerRewrite[] = [];
  const shifts: BiasShift[] = [];
  for (const layer of layers) {
    const rank = ranks[layer.layer.name] ?? 'keep';
    if (rank === 'keep') continue;
    rewrites.push({ layer: layer.layer, factors: await factors.get(layer, rank) });
    const shift = shiftOf(layer.layer.name, rank);
    if (shift) shifts.push({ layer: layer.layer, shift });
  }
  return applyBiasShifts(model, rewriteModel(model, rewrites), shifts);
}

/** MACs and parameters of a point (the analysis totals less what the factorized layers save). */
export function pointSize(model: OnnxModel, analysis: ModelAnalysis, layers: readonly SearchLayer[], ranks: PointRanks): { macs: number; params: number } {
  let macs = analysis.totals.macs;
  let params = analysis.totals.params;
  for (const { layer } of layers) {
    const rank = ranks[layer.name] ?? 'keep';
    if (rank === 'keep' || !layer.lowRankShape) continue;
    const weightParams = (layer.weightShape ?? []).reduce((p, d) => p * d, 1);
    // Before opset 11 the rewrite's first Gemm gets a one-value zero C (see rewriteModel).
    const zeroC = layer.op === 'Gemm' && model.opsetVersion < 11 ? 1 : 0;
    macs -= (layer.macs ?? 0) - lowRankMacs(layer.lowRankShape, rank);
    params -= weightParams - lowRankParams(layer.lowRankShape, rank) - zeroC;
  }
  return { macs, params };
}

/** Predicted latency of a point: the untouched part plus every layer's table entry (ms). */
export function pointLatencyMs(latency: SearchLatency, layers: readonly SearchLayer[], ranks: PointRanks): number {
  return layers.reduce((sum, l) => sum + layerLatencyMs(l.entry, ranks[l.layer.name] ?? 'keep'), latency.untouchedMs);
}
