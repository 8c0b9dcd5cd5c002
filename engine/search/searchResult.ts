// The result of a search as `haloc search -o result.json` writes it and the extension reads it: the
// original model, the Pareto front, the baselines in the same units, and where every number comes
// from (a latency is a measured table's or an estimate; an accuracy delta is measured on held-out
// labelled data or estimated; the fast mode's models are bias-corrected and not fine-tuned).
import type { LayerRank, RankPlan } from '../factorize/rankPlan';
import type { LatencyKind } from './searchLatency';

/** A predicted latency and where it comes from. */
export interface LatencyValue {
  readonly value: number;
  readonly kind: LatencyKind;
}

/** Top-1 change against the original in points (negative = worse). */
export interface AccuracyDelta {
  /** null when nothing could be measured or estimated. */
  readonly value: number | null;
  /** 'measured': on labelled images the search did not use; else 'estimated'. */
  readonly kind: 'measured' | 'estimated';
  /** In words, e.g. "measured on held-out data, before fine-tuning". */
  readonly label: string;
}

/** One evaluated compressed model. */
export interface SearchPoint {
  readonly ranks: Readonly<Record<string, LayerRank>>;
  readonly macs: number;
  readonly params: number;
  /** 1 - macs / original macs. */
  readonly macsReduction: number;
  readonly latencyMs: LatencyValue;
  /** Original latency / this latency (same kind). */
  readonly speedup: number;
  readonly accuracyDelta: AccuracyDelta;
  readonly top1: number | null;
  /** Share of held-out images with the original model's top-1 class. */
  readonly agreement: number;
  /** Measured ||logits - original|| / ||original|| on the held-out images. */
  readonly logitsError: number;
  /** The search's own prediction of logitsError (from per-layer errors and gains); null for baselines that are not allocated. */
  readonly predictedLogitsError: number | null;
  readonly biasCorrected: boolean;
  readonly fineTuned: false;
}

/** A point of the front. */
export interface FrontPoint extends SearchPoint {
  /** The Lagrange multiplier (error per ms) from which this point is the allocator's choice. */
  readonly lambda: number;
  readonly withinBudget: boolean;
}

/** A baseline point. */
export interface BaselinePoint extends SearchPoint {
  readonly name: string;
  readonly kind: 'uniform' | 'energy' | 'flops-fast';
  /** The fraction (uniform, energy) or the MACs share kept (flops-fast). */
  readonly setting: number;
}

/** One candidate of a layer as the search measured it. */
export interface LayerCandidate {
  readonly rank: LayerRank;
  readonly latencyMs: number;
  readonly macs: number;
  /** Relative output error after bias correction (0 for keep). */
  readonly relError: number;
  /** Before bias correction. */
  readonly rawRelError: number;
}

/** A layer of the search. */
export interface SearchedLayer {
  readonly name: string;
  readonly op: string;
  readonly maxRank: number;
  /** Logits error per unit of layer error near 20% layer error (the probes give it at each level). */
  readonly gain: number;
  /** The layer factorized alone at these ranks: its relative output error and the relative logits error it caused. */
  readonly probes: readonly { readonly rank: number; readonly layerError: number; readonly logitsError: number }[];
  readonly candidates: readonly LayerCandidate[];
}

/** The whole result of a fast search. */
export interface FastSearchResult {
  readonly format: 'haloc-search-result';
  readonly version: 1;
  readonly mode: 'fast';
  readonly model: string;
  readonly target: { readonly name: string; readonly kind: LatencyKind; readonly source: string; readonly granularity: number; readonly batch: number; readonly untouchedMs: number };
  readonly data: { readonly calibration: { readonly source: string; readonly images: number; readonly sensitivityImages: number }; readonly test: { readonly source: string; readonly images: number; readonly labelled: boolean; readonly heldOut: boolean }; readonly seed: number };
  readonly original: { readonly macs: number; readonly params: number; readonly latencyMs: LatencyValue; readonly top1: number | null; readonly top5: number | null };
  readonly budget: { readonly fraction: number; readonly latencyMs: number; readonly chosen: number | null } | null;
  readonly front: readonly FrontPoint[];
  readonly baselines: readonly BaselinePoint[];
  /** Every breakpoint of the allocator's sweep (not evaluated): predicted latency, MACs and logits error. */
  readonly hull: readonly { readonly latencyMs: number; readonly macs: number; readonly predictedLogitsError: number }[];
  readonly layers: readonly SearchedLayer[];
  readonly seconds: Readonly<Record<string, number>>;
  readonly notes: readonly string[];
}

/** A front or baseline point as a rank plan that `haloc compress --plan` accepts. */
export function pointPlan(result: FastSearchResult, point: SearchPoint, description: string): RankPlan {
  const ranks = Object.fromEntries(result.layers.map((l) => [l.name, point.ranks[l.name] ?? 'keep']));
  return { model: result.model.split(/[\\/]/).pop() ?? result.model, source: { kind: 'fast', description, createdAt: new Date().toISOString(), tool: 'haloc search --mode fast' }, ranks };
}
