// The baselines shown beside the search, in the same units: a uniform share of each layer's maximum
// rank and a share of each layer's spectrum energy (both as `haloc compress --uniform / --energy`
// choose ranks), and the fast allocator with MACs in place of latency ("FLOPs-only").
import { rankForEnergy } from '../factorize/layerBasis';
import { lowRankMacs } from '../graph/lowRankCost';
import type { AllocatorLayer } from './lagrangian';
import type { PointRanks } from './pointModel';
import type { SearchLayer } from './searchLayers';

/** Default uniform rank fractions. */
export const defaultUniformFractions: readonly number[] = [0.4, 0.55, 0.7, 0.85];

/** Default energy fractions. */
export const defaultEnergyFractions: readonly number[] = [0.8, 0.9, 0.95];

/** Rank = round(fraction x maximum rank), at least 1, for every layer. */
export function uniformRanks(layers: readonly SearchLayer[], fraction: number): PointRanks {
  return Object.fromEntries(layers.map((l) => [l.layer.name, Math.max(1, Math.round(fraction * (l.layer.maxRank ?? 1)))]));
}

/** The smallest rank keeping `fraction` of each layer's spectrum energy, capped at its maximum rank. */
export function energyRanks(layers: readonly SearchLayer[], fraction: number): PointRanks {
  return Object.fromEntries(layers.map((l) => [l.layer.name, Math.min(rankForEnergy(l.basis.errorByRank, fraction), l.layer.maxRank ?? Infinity)]));
}

/** Every rank the baselines use per layer (their bias shifts must be measured too). */
export function baselineRanks(layers: readonly SearchLayer[], uniform: readonly number[], energy: readonly number[]): Map<string, Set<number>> {
  const ranks = new Map(layers.map((l) => [l.layer.name, new Set<number>()]));
  for (const choice of [...uniform.map((f) => uniformRanks(layers, f)), ...energy.map((f) => energyRanks(layers, f))]) {
    for (const [name, rank] of Object.entries(choice)) if (rank !== 'keep') ranks.get(name)?.add(rank);
  }
  return ranks;
}

/** The allocator's layers with MACs as the cost (errors as in the latency search). */
export function macsAllocatorLayers(layers: readonly SearchLayer[], latencyLayers: readonly AllocatorLayer[]): AllocatorLayer[] {
  return latencyLayers.map((allocated, i) => {
    const layer = layers[i];
    const shape = layer?.layer.lowRankShape;
    return {
      name: allocated.name,
      options: allocated.options.map((o) => ({ ...o, cost: o.rank === 'keep' || !shape ? (layer?.layer.macs ?? 0) : lowRankMacs(shape, o.rank) })),
    };
  });
}
