// A latency table estimated from an analytic profile (no measurement): the same format as a measured
// table, with kind 'estimated' and the profile's sources, and candidate ranks at the profile's tile.
import type { ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { estimateLayerMs, type AnalyticProfile } from './analyticProfiles';
import { candidateRanks } from './granularity';
import { layerKey, type LatencyTable, type LayerLatency } from './latencyTable';

/** Estimates the table of every compressible layer of a model on a profile. */
export function estimateLatencyTable(model: OnnxModel, analysis: ModelAnalysis, profile: AnalyticProfile, granularity = profile.channelTile): { table: LatencyTable; layerKeys: Record<string, string> } {
  const layers: Record<string, LayerLatency> = {};
  const layerKeys: Record<string, string> = {};
  for (const layer of analysis.layers) {
    if (!layer.compressible || !layer.lowRankShape) continue;
    const shape = layer.lowRankShape;
    const key = layerKey(model, layer);
    layerKeys[layer.name] = key;
    layers[key] ??= {
      op: layer.op,
      originalMs: estimateLayerMs(shape, profile),
      ranks: candidateRanks(layer.maxRank ?? 1, granularity).map((rank) => ({ rank, ms: estimateLayerMs(shape, profile, rank) })),
      granularity,
    };
  }
  const table: LatencyTable = {
    format: 'haloc-latency-table',
    version: 1,
    kind: 'estimated',
    source: `estimated from the analytic profile '${profile.name}': ${profile.source}`,
    createdAt: new Date().toISOString(),
    callOverheadMs: 0,
    granularity,
    layers,
  };
  return { table, layerKeys };
}
