// The fast, training-free, data-aware search (issue 6, item 3): per-layer output errors of every
// candidate rank measured on calibration activations, per-layer gains from a few probes each, ranks
// allocated against the target's latency table by a Lagrangian sweep (the whole front in one pass),
// then a spread of front points and the baselines built, bias-corrected and measured on held-out
// images. Its accuracy is "before fine-tuning": a preview, not the supernet search.
import { imageBatch } from '../data/imageBatch';
import * as os from 'node:os';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import { factorsAtRank } from '../factorize/layerBasis';
import type { LayerRank } from '../factorize/rankPlan';
import type { ModelAnalysis } from '../graph/analyzeModel';
import { lowRankMacs } from '../graph/lowRankCost';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import { baselineRanks, defaultEnergyFractions, defaultUniformFractions, energyRanks, macsAllocatorLayers, uniformRanks } from './baselines';
import { spreadPoints } from './frontSelection';
import { lagrangianFront, pointWithinBudget, type AllocatedPoint, type AllocatorLayer } from './lagrangian';
import { measureLayerErrors, type ErrorJob, type LayerErrors } from './measureLayerErrors';
import { fixedBatchSize } from './modelBatch';
import { PointEvaluator } from './pointEvaluator';
import { buildPointModel, type PointRanks, type ShiftLookup } from './pointModel';
import type { EvalSet } from './pointEvaluation';
import { logitsOn } from './pointEvaluation';
import type { BaselinePoint, FastSearchResult, FrontPoint, SearchedLayer, SearchPoint } from './searchResult';
import { layerLatencyMs, type SearchLatency } from './searchLatency';
import { FactorCache, prepareSearchLayers, type SearchLayer } from './searchLayers';
import { measureSensitivities, predictedLayerEffect, typicalGain, type LayerSensitivity } from './sensitivity';

/** Phases of a fast search, as progress reports them. */
export type SearchPhase = 'factorize' | 'errors' | 'sensitivity' | 'allocate' | 'evaluate';

/** One progress report. */
export interface SearchProgress {
  readonly phase: SearchPhase;
  /** 0..1 within the phase. */
  readonly fraction: number;
  readonly message: string;
}

/** Images with where they come from. */
export interface NamedSet extends EvalSet {
  readonly source: string;
}

/** Everything a fast search needs. */
export interface FastSearchSettings {
  readonly model: OnnxModel;
  readonly analysis: ModelAnalysis;
  readonly latency: SearchLatency;
  /** Calibration images (the search's own split). */
  readonly calibration: NamedSet;
  /** Test images; `heldOut` is false when they may overlap the calibration images. */
  readonly test: NamedSet & { readonly heldOut: boolean };
  readonly seed?: number;
  /** Calibration images the layers' effects on the logits are probed on (default 64). */
  readonly sensitivityImages?: number;
  /** Front points to evaluate (default 10). */
  readonly frontPoints?: number;
  /** Latency budget as a fraction of the original's predicted latency. */
  readonly budget?: number | undefined;
  readonly uniformFractions?: readonly number[];
  readonly energyFractions?: readonly number[];
  /** Points of the FLOPs-only baseline (default 3; 0: none). */
  readonly flopsPoints?: number;
  readonly threads?: number;
  readonly cancel?: CancelSignal;
  readonly progress?: (progress: SearchProgress) => void;
}

/** A finished search: its result, and the bias-corrected model of any setting (to write a chosen point). */
export interface FastSearchOutcome {
  readonly result: FastSearchResult;
  /** The searched layers with their bases and latency entries (for the editor's layer views). */
  readonly layers: readonly SearchLayer[];
  buildModel(ranks: PointRanks): Promise<onnx.IModelProto>;
}

/** Runs the fast search. */
export async function fastSearch(settings: FastSearchSettings): Promise<FastSearchOutcome> {
  const { model, analysis, latency } = settings;
  const cancel = settings.cancel ?? neverCancelled;
  const progress = settings.progress ?? (() => undefined);
  const clock = new PhaseClock();
  if (settings.calibration.indices.length === 0) throw new HalocError('BAD_ARGUMENT', 'the search needs calibration images: give --data with at least a few images');
  const uniform = settings.uniformFractions ?? defaultUniformFractions;
  const energy = settings.energyFractions ?? defaultEnergyFractions;
  const measured = await measurePhases(settings, uniform, energy, cancel, progress, clock);
  const { layers, errors, sensitivities } = measured;

  progress({ phase: 'allocate', fraction: 0, message: 'allocating ranks against latency' });
  const allocatorLayers = layers.map((l, i) => allocatorLayer(l, errors.get(l.layer.name), sensitivities[i]));
  const hull = lagrangianFront(allocatorLayers);
  const originalMs = latency.untouchedMs + layers.reduce((sum, l) => sum + l.entry.originalMs, 0);
  const budgetMs = settings.budget === undefined ? undefined : settings.budget * originalMs;
  const budgetPoint = budgetMs === undefined ? undefined : pointWithinBudget(hull, budgetMs - latency.untouchedMs);
  const picked = spreadPoints(hull, settings.frontPoints ?? 10, budgetPoint);
  const flopsPicked = (settings.flopsPoints ?? 3) > 0 ? spreadPoints(lagrangianFront(macsAllocatorLayers(layers, allocatorLayers)), settings.flopsPoints ?? 3) : [];
  const ranksOf = (point: AllocatedPoint): PointRanks => Object.fromEntries(allocatorLayers.map((l, i) => [l.name, l.options[point.choice[i] ?? 0]?.rank ?? 'keep']));
  clock.end('allocate');

  const evaluator = await PointEvaluator.open({ model, analysis, latency, layers, factors: measured.factors, shiftOf: measured.shiftOf, test: settings.test, run: measured.run, cancel, predictedError: (ranks) => predictedError(layers, errors, sensitivities, ranks), originalMs });
  const settingsToMeasure: Measured[] = [
    ...picked.map((p, i): Measured => ({ what: `front point ${i + 1}/${picked.length}`, ranks: ranksOf(p), make: (e) => ({ ...e, lambda: p.lambda, withinBudget: budgetMs === undefined || p.cost + latency.untouchedMs <= budgetMs + 1e-12 }) })),
    ...uniform.map((f): Measured => ({ what: `uniform rank ${f}`, ranks: uniformRanks(layers, f), make: (e) => ({ name: `uniform ${f}`, kind: 'uniform', setting: f, ...e }) })),
    ...energy.map((f): Measured => ({ what: `energy ${f}`, ranks: energyRanks(layers, f), make: (e) => ({ name: `energy ${f}`, kind: 'energy', setting: f, ...e }) })),
    ...flopsPicked.map((p): Measured => ({ what: 'a FLOPs-only point', ranks: ranksOf(p), make: (e) => ({ name: `flops-fast ${(100 * (1 - e.macsReduction)).toFixed(0)}% MACs`, kind: 'flops-fast', setting: 1 - e.macsReduction, ...e }) })),
  ];
  const points: (FrontPoint | BaselinePoint)[] = [];
  for (const [i, item] of settingsToMeasure.entries()) {
    progress({ phase: 'evaluate', fraction: i / settingsToMeasure.length, message: `measuring ${item.what} on ${settings.test.indices.length} held-out images` });
    points.push(item.make(await evaluator.evaluate(item.ranks)));
  }
  clock.end('evaluate');
  progress({ phase: 'evaluate', fraction: 1, message: 'done' });

  const chosen = budgetPoint ? picked.indexOf(budgetPoint) : -1;
  const result: FastSearchResult = {
    format: 'haloc-search-result',
    version: 1,
    mode: 'fast',
    model: model.filePath,
    target: { name: latency.target, kind: latency.kind, source: latency.table.source, granularity: latency.table.granularity, batch: analysis.model.batch, untouchedMs: latency.untouchedMs },
    data: {
      calibration: { source: settings.calibration.source, images: settings.calibration.indices.length, sensitivityImages: measured.probeImages },
      test: { source: settings.test.source, images: evaluator.original.images, labelled: evaluator.original.top1 !== null, heldOut: settings.test.heldOut },
      seed: settings.seed ?? 0,
    },
    original: { macs: analysis.totals.macs, params: analysis.totals.params, latencyMs: { value: originalMs, kind: latency.kind }, top1: evaluator.original.top1, top5: evaluator.original.top5 },
    budget: budgetMs === undefined ? null : { fraction: settings.budget ?? 1, latencyMs: budgetMs, chosen: chosen >= 0 ? chosen : null },
    front: points.slice(0, picked.length) as FrontPoint[],
    baselines: points.slice(picked.length) as BaselinePoint[],
    hull: hull.map((p) => ({ latencyMs: p.cost + latency.untouchedMs, macs: evaluator.size(ranksOf(p)).macs, predictedLogitsError: Math.sqrt(p.error) })),
    layers: layers.map((l, i) => searchedLayer(l, allocatorLayers[i], errors.get(l.layer.name), sensitivities[i])),
    seconds: clock.seconds,
    notes: [
      ...latency.notes,
      ...(picked.length === 0 ? [`no candidate rank of any layer is faster than the layer itself on target '${latency.target}' at batch ${analysis.model.batch}: the front is empty (the FLOPs-only baseline shows what MACs alone would choose)`] : []),
      `layer errors and bias corrections measured on ${settings.calibration.indices.length} calibration images (${settings.calibration.source}); each layer's effect on the logits probed on ${measured.probeImages} of them`,
      'every model is bias-corrected and NOT fine-tuned: its accuracy is measured before fine-tuning (a preview of where the supernet search and fine-tuning start from)',
      settings.test.heldOut ? `accuracy measured on ${evaluator.original.images} held-out images the search did not use (${settings.test.source})` : `the test images may overlap the calibration images (${settings.test.source}): accuracy deltas are estimates`,
    ],
  };
  return { result, layers, buildModel: (ranks) => buildPointModel(model, layers, ranks, measured.factors, measured.shiftOf) };
}

/** A setting to measure, and how its measurement becomes a front or baseline point. */
interface Measured {
  readonly what: string;
  readonly ranks: PointRanks;
  readonly make: (evaluated: SearchPoint) => FrontPoint | BaselinePoint;
}

/** Seconds per phase. */
class PhaseClock {
  readonly seconds: Record<string, number> = {};
  private start = performance.now();

  end(phase: SearchPhase): void {
    this.seconds[phase] = (performance.now() - this.start) / 1000;
    this.start = performance.now();
  }
}

/** What the measuring phases give the allocator and the evaluation. */
interface MeasuredLayers {
  readonly layers: readonly SearchLayer[];
  readonly factors: FactorCache;
  readonly errors: ReadonlyMap<string, LayerErrors>;
  readonly shiftOf: ShiftLookup;
  readonly sensitivities: readonly LayerSensitivity[];
  readonly run: { readonly batchSize: number; readonly dropLast: boolean; readonly threads: number };
  readonly probeImages: number;
}

/** Factorize, layer errors on the calibration images, then each layer's effect on the logits. */
async function measurePhases(settings: FastSearchSettings, uniform: readonly number[], energy: readonly number[], cancel: CancelSignal, progress: (p: SearchProgress) => void, clock: PhaseClock): Promise<MeasuredLayers> {
  const { model, analysis, latency, calibration } = settings;
  const threads = settings.threads ?? os.availableParallelism();
  progress({ phase: 'factorize', fraction: 0, message: 'factorizing the compressible layers' });
  const layers = await prepareSearchLayers(model, analysis, latency.table, latency.layerKeys, cancel, (f) => progress({ phase: 'factorize', fraction: f, message: 'factorizing the compressible layers' }));
  if (layers.length === 0) throw new HalocError('BAD_ARGUMENT', `${analysis.model.name}: no compressible layer has a latency entry for target '${latency.target}': nothing to search`);
  const factors = new FactorCache();
  const jobs = errorJobs(layers, baselineRanks(layers, uniform, energy));
  clock.end('factorize');

  const message = `measuring layer errors on ${calibration.indices.length} calibration images`;
  progress({ phase: 'errors', fraction: 0, message });
  const { errors } = await measureLayerErrors(model, jobs, calibration.dataset, calibration.indices, { batchSize: 64, threads }, cancel, (f) => progress({ phase: 'errors', fraction: f, message }));
  const shiftOf = (name: string, rank: number): Float32Array | undefined => {
    const layerErrors = errors.get(name);
    const k = layerErrors?.ranks.indexOf(rank) ?? -1;
    return k >= 0 ? layerErrors?.shift[k] : undefined;
  };
  clock.end('errors');

  const fixed = fixedBatchSize(model);
  const run = { batchSize: fixed ?? imageBatch(calibration.dataset, 64), dropLast: fixed !== undefined && fixed > 1, threads };
  const probeSet: EvalSet = { dataset: calibration.dataset, indices: calibration.indices.subarray(0, Math.min(calibration.indices.length, settings.sensitivityImages ?? 64)) };
  progress({ phase: 'sensitivity', fraction: 0, message: `measuring each layer's effect on the logits (${probeSet.indices.length} images)` });
  const reference = await logitsOn(model, probeSet, { ...run, cancel });
  const sensitivities = await measureSensitivities(model, layers, errors, probeSet, reference, factors, shiftOf, run, cancel, (f) => progress({ phase: 'sensitivity', fraction: f, message: "measuring each layer's effect on the logits" }));
  clock.end('sensitivity');
  return { layers, factors, errors, shiftOf, sensitivities, run, probeImages: probeSet.indices.length };
}

/**
 * The error-measurement jobs: every candidate and baseline rank of every layer, measured with the
 * factors of the layer's largest rank (made when its group runs, not kept: the smaller ranks' factors
 * are their leading parts).
 */
function errorJobs(layers: readonly SearchLayer[], extra: ReadonlyMap<string, ReadonlySet<number>>): ErrorJob[] {
  return layers.map((layer) => {
    const ranks = [...new Set([...layer.candidates, ...(extra.get(layer.layer.name) ?? [])])].sort((a, b) => a - b);
    return { layer: layer.layer, ranks, factors: () => factorsAtRank(layer.basis, ranks[ranks.length - 1] ?? 1, 0) };
  });
}

/** A layer's options for the allocator: keep first (cost: original latency, no error), then its candidate ranks. */
function allocatorLayer(layer: SearchLayer, errors: LayerErrors | undefined, sensitivity: LayerSensitivity | undefined): AllocatorLayer {
  const errorAt = (rank: number): number => errors?.relError[errors.ranks.indexOf(rank)] ?? 1;
  const effect = (rank: number): number => (sensitivity ? predictedLayerEffect(sensitivity, errorAt(rank)) : errorAt(rank)) ** 2;
  return {
    name: layer.layer.name,
    options: [{ rank: 'keep', cost: layer.entry.originalMs, error: 0 }, ...layer.candidates.map((rank) => ({ rank, cost: exactLatencyMs(layer, rank), error: effect(rank) }))],
  };
}

/** The table's latency at exactly this rank (the next measured rank above it otherwise). */
function exactLatencyMs(layer: SearchLayer, rank: number): number {
  return layer.entry.ranks.find((r) => r.rank === rank)?.ms ?? layerLatencyMs(layer.entry, rank);
}

/** The predicted relative logits error of a setting: sqrt of sum_l (g_l(e) e_l(r_l))^2 (null when a rank was not measured). */
function predictedError(layers: readonly SearchLayer[], errors: ReadonlyMap<string, LayerErrors>, sensitivities: readonly LayerSensitivity[], ranks: PointRanks): number | null {
  let sum = 0;
  for (const [i, layer] of layers.entries()) {
    const rank: LayerRank = ranks[layer.layer.name] ?? 'keep';
    if (rank === 'keep') continue;
    const measured = errors.get(layer.layer.name);
    const k = measured?.ranks.indexOf(rank) ?? -1;
    if (!measured || k < 0) return null;
    const error = measured.relError[k] ?? 0;
    const sensitivity = sensitivities[i];
    sum += (sensitivity ? predictedLayerEffect(sensitivity, error) : error) ** 2;
  }
  return Math.sqrt(sum);
}

function searchedLayer(layer: SearchLayer, allocated: AllocatorLayer | undefined, errors: LayerErrors | undefined, sensitivity: LayerSensitivity | undefined): SearchedLayer {
  const shape = layer.layer.lowRankShape;
  return {
    name: layer.layer.name,
    op: layer.layer.op,
    maxRank: layer.layer.maxRank ?? 0,
    gain: sensitivity ? typicalGain(sensitivity) : 1,
    probes: sensitivity?.probes ?? [],
    candidates: (allocated?.options ?? []).map((o) => {
      const k = o.rank === 'keep' ? -1 : (errors?.ranks.indexOf(o.rank) ?? -1);
      return { rank: o.rank, latencyMs: o.cost, macs: o.rank === 'keep' || !shape ? (layer.layer.macs ?? 0) : lowRankMacs(shape, o.rank), relError: k < 0 ? 0 : (errors?.relError[k] ?? 0), rawRelError: k < 0 ? 0 : (errors?.rawRelError[k] ?? 0) };
    }),
  };
}
