// `--mode haloc`: the whole HALOC pipeline for each budget of a sweep. The supernet search
// (supernetSearch.ts) picks the ranks and trains their factors; the compressed model is built from
// them and the search's other trained weights, fine-tuned by distillation from the original
// (engine/train), then measured: top-1/top-5 on the held-out test images and end-to-end latency in
// onnxruntime-node against the original. Baselines (uniform rank, energy threshold, HALOC with MACs
// in place of latency) go through the same fine-tuning at the MACs of the first HALOC point. Every
// phase is cancellable; the search result of a point and the fine-tuning checkpoint are kept in the
// work folder, so a resumed run skips finished searches and continues a fine-tuning where it stopped.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { splitIndices } from '../data/splits';
import { HalocError } from '../errors';
import { evaluateAccuracy, type Accuracy } from '../evaluate/accuracy';
import { factorsAtRank } from '../factorize/layerBasis';
import type { LayerFactors } from '../factorize/layerFactors';
import { rewriteModel } from '../factorize/rewriteModel';
import type { ModelAnalysis } from '../graph/analyzeModel';
import { timeModelsInRounds, wholeModelRounds } from '../hardware/timeSession';
import { writeFileAtomic } from '../io/atomicWrite';
import { decodeOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx, inlineExternalData, writeOnnxFile } from '../onnx/writeOnnx';
import { encodeTrained, withTrainedWeights } from '../train/exportTrained';
import { trainModel } from '../train/trainer';
import { energyRanks, uniformRanks } from './baselines';
import type { NamedSet } from './fastSearch';
import { pointLatencyMs, pointSize, type PointRanks } from './pointModel';
import type { AccuracyDelta, LatencyValue } from './searchResult';
import type { SearchLatency } from './searchLatency';
import { prepareSearchLayers, type SearchLayer } from './searchLayers';
import { supernetSearch, type SearchCost } from './supernetSearch';

/** Everything a HALOC run needs. */
export interface HalocSearchSettings {
  readonly model: OnnxModel;
  readonly analysis: ModelAnalysis;
  readonly latency: SearchLatency;
  /** Training images: split into the weight and architecture parts for the search; all of them for fine-tuning. */
  readonly train: NamedSet;
  /** Test images; `heldOut` is false when they may overlap the training images. */
  readonly test: NamedSet & { readonly heldOut: boolean };
  /** Budgets as fractions of the original's cost (predicted latency, or MACs with cost 'macs'): one front point each. */
  readonly budgets: readonly number[];
  readonly cost?: SearchCost;
  readonly searchEpochs: number;
  readonly finetuneEpochs: number;
  readonly batchSize?: number;
  readonly seed?: number;
  /** Candidate branches per layer (default 4). */
  readonly branches?: number;
  /** Weight of the budget penalty (default 2). */
  readonly costWeight?: number;
  /** Share of the training images that only the architecture steps see (default 0.2). */
  readonly archFraction?: number;
  /** An alpha step after every n-th weight step (default 2). */
  readonly archEvery?: number;
  /** Adam's learning rate for alpha (default 0.05: a search of a few hundred steps must be able to decide). */
  readonly archLearningRate?: number;
  readonly baselines?: readonly BaselineKind[];
  /** Weight of the distillation term in fine-tuning with labels (default 0.5: labels of the user's data also count); 1 without labels. */
  readonly distillWeight?: number;
  /** Peak AdamW learning rate of the fine-tuning (default 1e-3, cosine decay). */
  readonly finetuneLearningRate?: number;
  /** Pixel value of the augmentation padding per channel (see blackFill). */
  readonly augmentFill?: readonly number[];
  readonly threads: number;
  /** Where searched models, checkpoints and the final models go (created when missing). */
  readonly workDir: string;
  readonly resume?: boolean;
  readonly cancel?: CancelSignal;
  readonly progress?: (progress: HalocProgress) => void;
}

/** The baselines a HALOC run can fine-tune beside its points. */
export type BaselineKind = 'uniform' | 'energy' | 'flops';

/** One progress report. */
export interface HalocProgress {
  readonly phase: 'prepare' | 'search' | 'finetune' | 'evaluate';
  /** Which point ("point 1/3", "baseline uniform"). */
  readonly what: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number | null;
  /** The search's expected cost under softmax(alpha) (ms or MACs), null outside the search. */
  readonly expectedCost: number | null;
  readonly imagesPerSecond: number | null;
}

/** One fine-tuned, measured model of a HALOC run. */
export interface HalocPoint {
  readonly name: string;
  readonly kind: 'haloc' | BaselineKind;
  /** The budget fraction this point was searched for (null for uniform and energy). */
  readonly budget: number | null;
  readonly ranks: PointRanks;
  readonly macs: number;
  readonly params: number;
  readonly macsReduction: number;
  /** Predicted from the target's table. */
  readonly latencyMs: LatencyValue;
  readonly speedup: number;
  /** End to end in onnxruntime-node on this machine, at the analysis batch. */
  readonly measuredLatencyMs: number;
  readonly measuredSpeedup: number;
  readonly top1: number | null;
  readonly top5: number | null;
  readonly top1BeforeFinetune: number | null;
  readonly accuracyDelta: AccuracyDelta;
  readonly fineTuned: true;
  /** The fine-tuned model. */
  readonly onnx: string;
  readonly seconds: { readonly search: number; readonly finetune: number; readonly evaluate: number };
  readonly imagesPerSecond: { readonly search: number | null; readonly finetune: number };
}

/** The result of `haloc search --mode haloc`. */
export interface HalocSearchResult {
  readonly format: 'haloc-search-result';
  readonly version: 1;
  readonly mode: 'haloc';
  readonly model: string;
  readonly target: { readonly name: string; readonly kind: string; readonly granularity: number; readonly batch: number; readonly untouchedMs: number };
  readonly cost: SearchCost;
  readonly data: { readonly train: { readonly source: string; readonly images: number; readonly weightImages: number; readonly archImages: number }; readonly test: { readonly source: string; readonly images: number; readonly heldOut: boolean }; readonly seed: number };
  readonly settings: { readonly searchEpochs: number; readonly finetuneEpochs: number; readonly batchSize: number; readonly branches: number; readonly costWeight: number; readonly archEvery: number; readonly archLearningRate: number; readonly distillWeight: number; readonly finetuneLearningRate: number };
  readonly original: { readonly macs: number; readonly params: number; readonly latencyMs: LatencyValue; readonly measuredLatencyMs: number; readonly top1: number | null; readonly top5: number | null };
  readonly front: readonly HalocPoint[];
  readonly baselines: readonly HalocPoint[];
  readonly seconds: Readonly<Record<string, number>>;
  readonly notes: readonly string[];
}

/** A model to fine-tune and measure, with where it came from. */
interface Candidate {
  readonly name: string;
  readonly kind: HalocPoint['kind'];
  readonly budget: number | null;
  readonly ranks: PointRanks;
  readonly proto: Uint8Array;
  readonly searchSeconds: number;
  readonly searchImagesPerSecond: number | null;
}

/** Runs the sweep. */
export async function halocSearch(settings: HalocSearchSettings): Promise<HalocSearchResult> {
  const started = performance.now();
  const { model, analysis, latency } = settings;
  const cancel = settings.cancel ?? neverCancelled;
  const report = settings.progress ?? (() => undefined);
  const cost = settings.cost ?? 'latency';
  const seed = settings.seed ?? 0;
  const batchSize = settings.batchSize ?? 64;
  const branches = settings.branches ?? 4;
  const costWeight = settings.costWeight ?? 2;
  const archEvery = settings.archEvery ?? 2;
  const distillWeight = settings.distillWeight ?? 0.5;
  if (settings.budgets.length === 0) throw new HalocError('BAD_ARGUMENT', 'the HALOC search needs at least one budget');
  const train = settings.train;
  if (!settings.test.dataset.labels) throw new HalocError('BAD_ARGUMENT', `${settings.test.source} has no labels: the HALOC search measures top-1 on labelled held-out images`);
  fs.mkdirSync(settings.workDir, { recursive: true });

  report({ phase: 'prepare', what: 'factorizing', step: 0, totalSteps: 1, loss: null, expectedCost: null, imagesPerSecond: null });
  const layers = await prepareSearchLayers(model, analysis, latency.table, latency.layerKeys, cancel);
  if (layers.length === 0) throw new HalocError('BAD_ARGUMENT', `${analysis.model.name} has no compressible layer with a latency entry on target '${latency.target}'`);
  const trainLabels = train.dataset.labels ? Int32Array.from(train.indices, (i) => train.dataset.labels![i]!) : undefined;
  const parts = splitIndices(train.indices.length, trainLabels, { weights: 1 - (settings.archFraction ?? 0.2), arch: settings.archFraction ?? 0.2 }, seed);
  const weightIndices = Int32Array.from(parts.weights, (i) => train.indices[i]!);
  const archIndices = Int32Array.from(parts.arch, (i) => train.indices[i]!);
  const originalBytes = encodeOnnx(inlineExternalData(model.proto, model.constants));
  const originalMs = pointLatencyMs(latency, layers, {});
  const originalCost = cost === 'latency' ? originalMs : analysis.totals.macs;
  const untouchedCost = (c: SearchCost): number => (c === 'latency' ? latency.untouchedMs : analysis.totals.macs - layers.reduce((s, l) => s + (l.layer.macs ?? 0), 0));
  const identity = runIdentity(settings, originalBytes);
  const timing = { threads: settings.threads, provider: 'cpu' as const };
  const inputs = analysis.model.inputs.map((i) => ({ name: i.name, dims: i.shape.map((d) => (typeof d === 'number' ? d : analysis.model.batch)), elemType: i.elemType }));

  report({ phase: 'evaluate', what: 'the original', step: 0, totalSteps: 1, loss: null, expectedCost: null, imagesPerSecond: null });
  const originalAccuracy = await evaluateAccuracy(originalBytes, settings.test.dataset, { indices: settings.test.indices, cancel });
  const [originalMeasuredMs = NaN] = await timeModelsInRounds([originalBytes], inputs, timing, wholeModelRounds, cancel);

  const search = async (name: string, kind: 'haloc' | 'flops', budget: number, what: string): Promise<Candidate> => {
    const searchCost: SearchCost = kind === 'flops' ? 'macs' : cost;
    const file = path.join(settings.workDir, `${name}.searched.onnx`);
    const meta = `${file}.json`;
    if (settings.resume && fs.existsSync(file) && fs.existsSync(meta)) {
      const saved = JSON.parse(fs.readFileSync(meta, 'utf8')) as { identity: string; ranks: PointRanks; seconds: number; imagesPerSecond: number; budget: number };
      if (saved.identity === identity && saved.budget === budget) return { name, kind, budget, ranks: saved.ranks, proto: fs.readFileSync(file), searchSeconds: saved.seconds, searchImagesPerSecond: saved.imagesPerSecond };
    }
    const full = searchCost === 'latency' ? originalMs : analysis.totals.macs;
    const result = await supernetSearch({
      model, layers, untouchedCost: untouchedCost(searchCost), cost: searchCost, data: train.dataset, weightIndices, archIndices,
      branches, budget: budget * full, costWeight, epochs: settings.searchEpochs, batchSize, seed, archEvery, archLearningRate: settings.archLearningRate ?? 0.05, cancel,
      ...(settings.augmentFill ? { augmentFill: settings.augmentFill } : {}),
      onProgress: (p) => report({ phase: 'search', what, step: p.step, totalSteps: p.totalSteps, loss: p.loss, expectedCost: p.expectedCost, imagesPerSecond: p.imagesPerSecond }),
    });
    const ranks: Record<string, number | 'keep'> = Object.fromEntries(layers.map((l) => [l.layer.name, result.ranks.get(l.layer.name) ?? 'keep']));
    const proto = compressedBytes(model, layers, result.factors, result.weights);
    writeFileAtomic(file, [proto], [model.filePath]);
    fs.writeFileSync(meta, JSON.stringify({ identity, budget, ranks, seconds: result.seconds, imagesPerSecond: result.imagesPerSecond }));
    return { name, kind, budget, ranks, proto, searchSeconds: result.seconds, searchImagesPerSecond: result.imagesPerSecond };
  };

  const finish = async (candidate: Candidate, what: string): Promise<HalocPoint> => {
    const compressed = decodeOnnxModel(candidate.proto, path.join(settings.workDir, `${candidate.name}.searched.onnx`));
    const output = path.join(settings.workDir, `${candidate.name}.onnx`);
    // a point finished by an earlier run of the same settings is reused on --resume
    const record = `${output}.json`;
    const key = finishedPointKey(candidate.proto, settings);
    if (settings.resume && fs.existsSync(output) && fs.existsSync(record)) {
      const saved = JSON.parse(fs.readFileSync(record, 'utf8')) as { key: string; point: HalocPoint };
      if (saved.key === key) return saved.point;
    }
    const before = await evaluateAccuracy(candidate.proto, settings.test.dataset, { indices: settings.test.indices, cancel });
    const finetuneStarted = performance.now();
    const stepsPerEpoch = Math.floor(train.indices.length / batchSize);
    const trained = await trainModel({
      model: compressed, data: train.dataset, indices: train.indices, epochs: Math.ceil(settings.finetuneEpochs),
      maxSteps: Math.max(1, Math.round(settings.finetuneEpochs * stepsPerEpoch)), batchSize, seed,
      optimizer: { kind: 'adamw', learningRate: settings.finetuneLearningRate ?? 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 },
      augment: { padding: Math.round(train.dataset.height / 8), flip: true, ...(settings.augmentFill ? { fill: settings.augmentFill } : {}) },
      teacher: { model: originalBytes, temperature: 4, weight: train.dataset.labels ? distillWeight : 1 },
      checkpoint: { path: `${output}.ckpt`, everySteps: 100 }, resume: settings.resume === true, cancel,
      onProgress: (p) => report({ phase: 'finetune', what, step: p.step, totalSteps: p.totalSteps, loss: p.loss, expectedCost: null, imagesPerSecond: p.imagesPerSecond }),
    });
    const finetuneSeconds = (performance.now() - finetuneStarted) / 1000;
    const evaluateStarted = performance.now();
    report({ phase: 'evaluate', what, step: 0, totalSteps: 1, loss: null, expectedCost: null, imagesPerSecond: null });
    const bytes = encodeTrained(compressed, trained.weights);
    writeOnnxFile(withTrainedWeights(compressed, trained.weights), output, { protectedPaths: [model.filePath] });
    fs.rmSync(`${output}.ckpt`, { force: true });
    const after = await evaluateAccuracy(bytes, settings.test.dataset, { indices: settings.test.indices, cancel });
    // the original again, in the same alternating rounds: the load of a shared machine changes in the minutes a point takes
    const [originalNowMs = NaN, measuredMs = NaN] = await timeModelsInRounds([originalBytes, bytes], inputs, timing, wholeModelRounds, cancel);
    const size = pointSize(model, analysis, layers, candidate.ranks);
    const predictedMs = pointLatencyMs(latency, layers, candidate.ranks);
    const point: HalocPoint = {
      name: candidate.name, kind: candidate.kind, budget: candidate.budget, ranks: candidate.ranks, ...size,
      macsReduction: 1 - size.macs / analysis.totals.macs,
      latencyMs: { value: predictedMs, kind: latency.kind }, speedup: originalMs / predictedMs,
      measuredLatencyMs: measuredMs, measuredSpeedup: originalNowMs / measuredMs,
      top1: after.top1, top5: after.top5, top1BeforeFinetune: before.top1,
      accuracyDelta: delta(after, originalAccuracy, settings.test.heldOut, settings.finetuneEpochs),
      fineTuned: true, onnx: output,
      seconds: { search: candidate.searchSeconds, finetune: finetuneSeconds, evaluate: (performance.now() - evaluateStarted) / 1000 },
      imagesPerSecond: { search: candidate.searchImagesPerSecond, finetune: trained.imagesPerSecond },
    };
    writeFileAtomic(record, [Buffer.from(JSON.stringify({ key, point }), 'utf8')], [model.filePath]);
    return point;
  };

  const front: HalocPoint[] = [];
  for (const [i, budget] of settings.budgets.entries()) {
    const what = `point ${i + 1}/${settings.budgets.length} (budget ${budget})`;
    front.push(await finish(await search(`haloc-${i + 1}`, 'haloc', budget, what), what));
  }
  const baselines: HalocPoint[] = [];
  const anchor = front[0]!;
  for (const kind of settings.baselines ?? []) {
    const what = `baseline ${kind}`;
    let candidate: Candidate;
    if (kind === 'flops') candidate = await search(`flops`, 'flops', anchor.macs / analysis.totals.macs, what);
    else {
      const ranks = kind === 'uniform' ? matchMacs((f) => uniformRanks(layers, f), model, analysis, layers, anchor.macs) : matchMacs((f) => energyRanks(layers, f), model, analysis, layers, anchor.macs);
      const factors = new Map<string, LayerFactors>();
      for (const l of layers) {
        const rank = ranks[l.layer.name];
        if (typeof rank === 'number') factors.set(l.layer.name, await factorsAtRank(l.basis, rank));
      }
      candidate = { name: kind, kind, budget: null, ranks, proto: compressedBytes(model, layers, factors, new Map()), searchSeconds: 0, searchImagesPerSecond: null };
    }
    baselines.push(await finish(candidate, what));
  }
  const sum = (points: readonly HalocPoint[], phase: keyof HalocPoint['seconds']): number => points.reduce((s, p) => s + p.seconds[phase], 0);
  const all = [...front, ...baselines];
  return {
    format: 'haloc-search-result', version: 1, mode: 'haloc', model: model.filePath,
    target: { name: latency.target, kind: latency.kind, granularity: latency.table.granularity, batch: analysis.model.batch, untouchedMs: latency.untouchedMs },
    cost,
    data: { train: { source: train.source, images: train.indices.length, weightImages: weightIndices.length, archImages: archIndices.length }, test: { source: settings.test.source, images: originalAccuracy.images, heldOut: settings.test.heldOut }, seed },
    settings: { searchEpochs: settings.searchEpochs, finetuneEpochs: settings.finetuneEpochs, batchSize, branches, costWeight, archEvery, archLearningRate: settings.archLearningRate ?? 0.05, distillWeight: train.dataset.labels ? distillWeight : 1, finetuneLearningRate: settings.finetuneLearningRate ?? 1e-3 },
    original: { macs: analysis.totals.macs, params: analysis.totals.params, latencyMs: { value: originalMs, kind: latency.kind }, measuredLatencyMs: originalMeasuredMs, top1: originalAccuracy.top1, top5: originalAccuracy.top5 },
    front, baselines,
    seconds: { search: sum(all, 'search'), finetune: sum(all, 'finetune'), evaluate: sum(all, 'evaluate'), total: (performance.now() - started) / 1000 },
    notes: [
      ...latency.notes,
      `cost: ${originalCost.toPrecision(4)} ${cost === 'latency' ? 'ms predicted' : 'MACs'} for the original; each budget is a fraction of it`,
      `accuracy: top-1 after ${settings.finetuneEpochs} epoch(s) of fine-tuning by distillation from the original${train.dataset.labels ? ` (weight ${distillWeight}) and the labels (weight ${1 - distillWeight})` : ''}; ${settings.test.heldOut ? 'measured on held-out images the search and the fine-tuning never saw' : 'the test images may overlap the training images, so every delta is estimated'}`,
      `measured latency: end to end in onnxruntime-node on this machine, batch ${analysis.model.batch}, ${settings.threads} thread(s), median of ${wholeModelRounds} rounds of fresh sessions; each speedup against the original timed in alternating rounds beside that model`,
    ],
  };
}

/** The compressed model: the layers replaced by their factors, the other initializers from `weights` where given. */
function compressedBytes(model: OnnxModel, layers: readonly SearchLayer[], factors: ReadonlyMap<string, LayerFactors>, weights: ReadonlyMap<string, Float32Array>): Uint8Array {
  const rewrites = layers.filter((l) => factors.has(l.layer.name)).map((l) => ({ layer: l.layer, factors: factors.get(l.layer.name)! }));
  const rewritten = decodeOnnxModel(encodeOnnx(inlineExternalData(rewriteModel(model, rewrites), model.constants)), model.filePath);
  return encodeOnnx(withTrainedWeights(rewritten, weights));
}

/** The setting of a one-parameter family (fraction in (0, 1], MACs growing with it) whose MACs come closest to `macs`. */
export function matchMacs(family: (fraction: number) => PointRanks, model: OnnxModel, analysis: ModelAnalysis, layers: readonly SearchLayer[], macs: number): PointRanks {
  let low = 0.001;
  let high = 1;
  for (let i = 0; i < 40; i++) {
    const middle = (low + high) / 2;
    if (pointSize(model, analysis, layers, family(middle)).macs > macs) high = middle;
    else low = middle;
  }
  const distance = (f: number): number => Math.abs(pointSize(model, analysis, layers, family(f)).macs - macs);
  return family(distance(low) <= distance(high) ? low : high);
}

function delta(after: Accuracy, original: Accuracy, heldOut: boolean, epochs: number): AccuracyDelta {
  return {
    value: 100 * (after.top1 - original.top1),
    kind: heldOut ? 'measured' : 'estimated',
    label: `${heldOut ? 'measured on held-out data' : 'estimated (test images may overlap the training images)'}, after ${epochs} epoch(s) of fine-tuning`,
  };
}

/** A hash of a model to fine-tune and of what determines its fine-tuning and measurement (for --resume). */
export function finishedPointKey(modelBytes: Uint8Array, settings: Pick<HalocSearchSettings, 'finetuneEpochs' | 'distillWeight' | 'finetuneLearningRate' | 'batchSize' | 'seed' | 'test'>): string {
  const hash = createHash('sha256').update(modelBytes);
  hash.update(JSON.stringify({ epochs: settings.finetuneEpochs, distill: settings.distillWeight ?? 0.5, lr: settings.finetuneLearningRate ?? 1e-3, batch: settings.batchSize ?? 64, seed: settings.seed ?? 0, test: settings.test.source, images: settings.test.indices.length }));
  return hash.digest('hex').slice(0, 32);
}

/** A hash of what determines a search's outcome, so that --resume reuses only matching work. */
function runIdentity(settings: HalocSearchSettings, modelBytes: Uint8Array): string {
  const hash = createHash('sha256').update(modelBytes);
  hash.update(JSON.stringify({
    target: settings.latency.target, granularity: settings.latency.table.granularity, cost: settings.cost ?? 'latency', train: settings.train.source, images: settings.train.indices.length,
    searchEpochs: settings.searchEpochs, batch: settings.batchSize, seed: settings.seed, branches: settings.branches, costWeight: settings.costWeight, archFraction: settings.archFraction, archEvery: settings.archEvery, archLearningRate: settings.archLearningRate,
  }));
  return hash.digest('hex').slice(0, 32);
}
