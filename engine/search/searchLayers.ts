// The layers a search works on: each compressible layer with a latency entry, its factorization basis,
// its candidate ranks (the latency table's: multiples of the target's granularity
// up to the maximum rank), and the factors of every rank used, computed once.
import { neverCancelled, type CancelSignal } from '../cancellation';
import { lowRankParams } from '../factorize/compressModel';
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

/**
 * Factors of layers at ranks, the most recently used kept up to a byte budget (default 256 MiB): a
 * search asks for the same small factors again and again, while a large layer's factors at every rank
 * a front visits (VGG-16's fc6: up to 0.4 GB each) would otherwise stay for the whole search.
 */
export class FactorCache {
  private readonly cache = new Map<string, { readonly factors: Promise<LayerFactors>; readonly bytes: number }>();
  private bytes = 0;

  constructor(private readonly budgetBytes = 256 * 2 ** 20) {}

  /** The factors of `layer` at `rank` (no HOOI, as `haloc compress` builds them). */
  get(layer: SearchLayer, rank: number): Promise<LayerFactors> {
    const key = `${layer.layer.nodeIndex}:${rank}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, hit);
      return hit.factors;
    }
    const shape = layer.layer.lowRankShape;
    const entry = { factors: factorsAtRank(layer.basis, rank, 0), bytes: shape ? 4 * lowRankParams(shape, rank) : 0 };
    if (entry.bytes > this.budgetBytes) return entry.factors; // made again when asked again: VGG-16's fc6 near full rank is 0.4 GB
    this.cache.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest, old] of this.cache) {
      if (this.bytes <= this.budgetBytes) break; // never at `key`: alone it fits the budget
      this.cache.delete(oldest);
      this.bytes -= old.bytes;
    }
    return entry.factors;
  }
}

