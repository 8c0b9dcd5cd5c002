// What the editor shows of a search, whatever its mode: the points of the front and the baselines in
// one shape (with the honesty labels of searchResult.ts), and per layer its latency steps against
// rank on the target and its spectrum (relative reconstruction error by rank), for hints and hovers.
import type { LayerRank } from '../factorize/rankPlan';
import { latencyAtRank } from '../hardware/latencyTable';
import type { HalocSearchResult } from './halocSearch';
import type { FastSearchResult, LatencyValue, SearchPoint } from './searchResult';
import type { SearchLatency } from './searchLatency';
import type { SearchLayer } from './searchLayers';

/** A result of `haloc search` in either mode (result.json). */
export type SearchResultFile = FastSearchResult | HalocSearchResult;

/** Which series a point belongs to. */
export type PointGroup = 'front' | 'uniform' | 'energy' | 'flops';

/** The figures every point of either mode has (searchResult.ts's SearchPoint, HalocPoint). */
type SharedFigures = Pick<SearchPoint, 'ranks' | 'macs' | 'params' | 'macsReduction' | 'latencyMs' | 'speedup' | 'accuracyDelta'>;

/** One point of a result as the editor shows it. */
export interface ResultPoint extends SharedFigures {
  /** Stable within a result: 'front:2', 'baseline:3'. */
  readonly id: string;
  readonly group: PointGroup;
  readonly name: string;
  /** End-to-end latency measured on this machine (HALOC mode), ms. */
  readonly measuredLatencyMs: number | null;
  readonly top1: number | null;
  readonly fineTuned: boolean;
  /** The model file this point's figures were measured on (HALOC mode: the fine-tuned model). */
  readonly onnx: string | null;
}

/** Every point of a result: the front first, then the baselines. */
export function resultPoints(result: SearchResultFile): ResultPoint[] {
  if (result.mode === 'fast') {
    return [
      ...result.front.map((p, i): ResultPoint => ({ ...common(p), id: `front:${i}`, group: 'front', name: `front ${i}`, measuredLatencyMs: null, top1: p.top1, fineTuned: false, onnx: null })),
      ...result.baselines.map((p, i): ResultPoint => ({ ...common(p), id: `baseline:${i}`, group: p.kind === 'flops-fast' ? 'flops' : p.kind, name: p.name, measuredLatencyMs: null, top1: p.top1, fineTuned: false, onnx: null })),
    ];
  }
  return [
    ...result.front.map((p, i): ResultPoint => ({ ...common(p), id: `front:${i}`, group: 'front', name: `HALOC ${p.budget ?? ''}`.trim(), measuredLatencyMs: p.measuredLatencyMs, top1: p.top1, fineTuned: true, onnx: p.onnx })),
    ...result.baselines.map((p, i): ResultPoint => ({ ...common(p), id: `baseline:${i}`, group: p.kind === 'haloc' ? 'front' : p.kind, name: p.name, measuredLatencyMs: p.measuredLatencyMs, top1: p.top1, fineTuned: true, onnx: p.onnx })),
  ];
}

function common(p: SharedFigures): SharedFigures {
  return { ranks: p.ranks, macs: p.macs, params: p.params, macsReduction: p.macsReduction, latencyMs: p.latencyMs, speedup: p.speedup, accuracyDelta: p.accuracyDelta };
}

/** A compressible layer as hints and hovers show it. */
export interface LayerView {
  readonly name: string;
  readonly op: string;
  readonly maxRank: number;
  /** The rank step of the target (candidate ranks are its multiples). */
  readonly granularity: number;
  readonly originalMs: number;
  /** Latency on the target by candidate rank, ascending (the steps). */
  readonly latency: readonly { readonly rank: number; readonly ms: number }[];
  readonly latencyKind: LatencyValue['kind'];
  /** Relative reconstruction error of the weight by rank: errorByRank[r] for r = 0..maxRank. */
  readonly errorByRank: readonly number[];
  /** Null when some rank is faster than the layer; else why compressing it does not pay on the target. */
  readonly notWorth: string | null;
}

/** The layer views of a search's layers on its target. */
export function layerViews(layers: readonly SearchLayer[], latency: SearchLatency): LayerView[] {
  return layers.map(({ layer, basis, entry }) => {
    const faster = entry.ranks.some((r) => r.rank <= (layer.maxRank ?? 0) && r.ms < entry.originalMs);
    const fewerMacs = (layer.breakEvenRank ?? 0) >= 1;
    return {
      name: layer.name,
      op: layer.op,
      maxRank: layer.maxRank ?? 0,
      granularity: entry.granularity,
      originalMs: entry.originalMs,
      latency: entry.ranks.filter((r) => r.rank <= (layer.maxRank ?? Infinity)).map((r) => ({ rank: r.rank, ms: r.ms })),
      latencyKind: latency.kind,
      errorByRank: Array.from(basis.errorByRank),
      notWorth: faster ? null : fewerMacs ? `fewer MACs, not faster on ${latency.target}: no rank beats the layer's ${entry.originalMs.toFixed(3)} ms` : `no rank is faster on ${latency.target} (or has fewer MACs)`,
    };
  });
}

/** The predicted speedup of a layer at a rank on the target (original / factorized latency). */
export function layerSpeedup(view: Pick<LayerView, 'originalMs' | 'latency'>, rank: LayerRank): number {
  if (rank === 'keep') return 1;
  return view.originalMs / latencyAtRank({ op: '', originalMs: view.originalMs, granularity: 1, ranks: view.latency }, rank);
}
