// Test data of the language tests: layer views and result points as the engine's resultView makes
// them (plain data; the search that produces them is tested in test/unit/search).
import type { LayerRank } from '../../../engine/factorize/rankPlan';
import type { LayerView, ResultPoint } from '../../../engine/search/resultView';
import type { AccuracyDelta } from '../../../engine/search/searchResult';

/** A Tucker-2 conv layer of max rank 16 on a target with rank step 4: 1 ms originally, 0.25 ms per step of 4 ranks, rank 16 slower than the original. */
export function layerView(overrides: Partial<LayerView> & { readonly name: string }): LayerView {
  return {
    op: 'Conv',
    maxRank: 16,
    granularity: 4,
    originalMs: 1,
    latency: [{ rank: 4, ms: 0.25 }, { rank: 8, ms: 0.5 }, { rank: 12, ms: 0.75 }, { rank: 16, ms: 1.25 }],
    latencyKind: 'measured-table',
    errorByRank: Array.from({ length: 17 }, (_, r) => 1 - r / 16),
    notWorth: null,
    ...overrides,
  };
}

/** A front point with these ranks and accuracy change. */
export function resultPoint(ranks: Readonly<Record<string, LayerRank>>, accuracyDelta: AccuracyDelta): ResultPoint {
  return { id: 'front:0', group: 'front', name: 'front 0', ranks, macs: 1, params: 1, macsReduction: 0.5, latencyMs: { value: 1, kind: 'measured-table' }, speedup: 2, measuredLatencyMs: null, top1: 0.9, accuracyDelta, fineTuned: false, onnx: null };
}
