// The layers a search works on: each compressible layer with a latency entry, its factorization basis,
// its candidate ranks (the latency table's: multiples of the target's granularity
// up to the maximum rank), and the factors of every rank used, computed once.
import { neverCancelled, type CancelSignal } from '../cancellation';
import { factorsAtRank, layerBasis, type LayerBasis } from '../factorize/layerBasis';
import type { LayerFactors } from '../factorize/layerFactors';
import type { LatencyTable, LayerLatency } from '../hardware/latencyTable';
import type { LayerAnalysis, ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';

/** One layer of a search. */
export interface SearchLayer {
  readonly layer: LayerAnalysis;
  readonly basis: LayerBasis;
  readonly entry: LayerLatency;
  /** The allocator's ranks: the table's candidate ranks of this layer, ascending. */
  readonly candidates: readonly number[];
}

/** Prepares every compressible layer that has an entry in `table` (by `layerKeys`). */
export async function prepareSearchLayers(model: OnnxModel, analysis: ModelAnalysis, table: LatencyTable, layerKeys: Readonly<Record<string, string>>, cancel: CancelSignal = neverCancelled, progress: (fraction: number) => void = () => undefined): Promise<SearchLayer[]> {
  const layers = analysis.layers.filter((l) => l.compressible && table.layers[layerKeys[l.name] ?? '']);
  const prepared: SearchLayer[] = [];
  for (const [index, layer] of layers.entries()) {
    cancel.throwIfCancelled();
    progress(index / layers.length);
    const entry = table.layers[layerKeys[layer.name] ?? ''] as LayerLatency;
    const maxRank = layer.maxRank ?? 1;
    const candidates = [...new Set(entry.ranks.map((r) => r.rank).filter((r) => r >= 1 && r <= maxRank))].sort((a, b) => a - b);
    prepared.push({ layer, basis: await layerBasis(model, layer), entry, candidates });
  }
  return prepared;
}

/** Factors of layers at ranks, each computed once. */
export class FactorCache {
  private readonly cache = new Map<string, Promise<LayerFactors>>();

  /** The factors of `layer` at `rank` (no HOOI, as `haloc compress` builds them). */
  get(layer: SearchLayer, rank: number): Promise<LayerFactors> {
    const key = `${layer.layer.nodeIndex}:${rank}`;
    let factors = this.cache.get(key);
    if (!factors) {
      factors = factorsAtRank(layer.basis, rank, 0);
      this.cache.set(key, factors);
    }
    return factors;
  }
}
