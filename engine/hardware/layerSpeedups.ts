// Per layer, what the table says a factorization buys: the fastest candidate rank and its speedup,
// the largest rank that is still faster than the original, and the "fewer FLOPs, not faster" case: a
// layer whose factorization saves MACs at some rank but is never faster on this target.
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { LatencyTable } from './latencyTable';

/** The latency verdict of one layer. */
export interface LayerSpeedup {
  readonly name: string;
  readonly originalMs: number;
  readonly bestRank: number | null;
  readonly bestMs: number | null;
  /** originalMs / bestMs. */
  readonly bestSpeedup: number | null;
  /** Largest candidate rank whose latency is below the original's; null when none is. */
  readonly fasterUpToRank: number | null;
  /** Fewer MACs exist (some rank is below the break-even rank) but no candidate rank is faster. */
  readonly fewerMacsNotFaster: boolean;
  readonly kind: LatencyTable['kind'];
}

/** Verdicts for every compressible layer that has a table entry. */
export function layerSpeedups(layers: readonly LayerAnalysis[], table: LatencyTable, layerKeys: Readonly<Record<string, string>>): LayerSpeedup[] {
  return layers.flatMap((layer) => {
    const entry = table.layers[layerKeys[layer.name] ?? ''];
    if (!layer.compressible || !entry) return [];
    const best = entry.ranks.reduce<{ rank: number; ms: number } | null>((b, r) => (!b || r.ms < b.ms ? r : b), null);
    const faster = entry.ranks.filter((r) => r.ms < entry.originalMs);
    const fasterUpToRank = faster.length > 0 ? Math.max(...faster.map((r) => r.rank)) : null;
    const bestFaster = best && best.ms < entry.originalMs ? best : null;
    return [{
      name: layer.name,
      originalMs: entry.originalMs,
      bestRank: bestFaster?.rank ?? null,
      bestMs: bestFaster?.ms ?? null,
      bestSpeedup: bestFaster ? entry.originalMs / bestFaster.ms : null,
      fasterUpToRank,
      fewerMacsNotFaster: (layer.breakEvenRank ?? 0) >= 1 && fasterUpToRank === null,
      kind: table.kind,
    }];
  });
}
