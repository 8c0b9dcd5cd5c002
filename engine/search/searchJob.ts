// The editor's search job: one plain JSON settings object (what the quick picks chose) in, the
// result and its per-layer views out. Runs either mode the way `haloc search` does (the same data
// splits, latency targets and searches); without a dataset the fast mode runs a data-free preview on
// synthetic unlabelled images of the model's input shape, so that every accuracy figure is estimated.
import * as os from 'node:os';
import type { CancelSignal } from '../cancellation';
import { blackFill } from '../data/augment';
import { loadDataset } from '../data/loadDataset';
import type { Preprocessing } from '../data/preprocessing';
import { HalocError } from '../errors';
import { analyzeModel, type ModelAnalysis } from '../graph/analyzeModel';
import { checkMemoryLimit, defaultMemoryLimitMb, modelBytesOnDisk } from '../io/memoryLimit';
import { readOnnxModel } from '../onnx/onnxModel';
import { fastSearch, type SearchProgress } from './fastSearch';
import { halocSearch, type HalocProgress } from './halocSearch';
import { layerViews, type LayerView, type SearchResultFile } from './resultView';
import { calibrationAndTest, dataFreeSplit, trainAndTest, type CalibrationSplit, type SourcedDataset } from './searchData';
import { resolveSearchLatency, type SearchLatency } from './searchLatency';
import { prepareSearchLayers } from './searchLayers';

/** A dataset folder (or .tar / .npy / .npz) with the model's preprocessing. */
export interface JobData {
  readonly path: string;
  readonly preprocessing: Preprocessing;
}

/** Everything a search job needs, as plain JSON (also the key of its cached result). */
export interface SearchJobSettings {
  readonly modelPath: string;
  readonly mode: 'fast' | 'haloc';
  /** 'this-machine', a shipped analytic profile id, or a latency table file (.json). */
  readonly target: string;
  /** Batch of the latency table and of symbolic batch dimensions. */
  readonly batch: number;
  /** onnxruntime threads; 0: every core. */
  readonly threads: number;
  /** Rank step override; absent or 0: from the latency table. */
  readonly granularity?: number;
  /** Latency budget as a fraction of the original's predicted latency. */
  readonly budget?: number;
  /** Null: the data-free preview (fast mode only). */
  readonly data: JobData | null;
  /** Held-out evaluation images (same preprocessing as `data`); default: a seeded split of `data`. */
  readonly evalData?: { readonly path: string };
  /** Preprocessing of the data-free preview's synthetic images (default: scale 1/255 only). */
  readonly dataFreePreprocessing?: Preprocessing;
  readonly fast: { readonly calibration: number; readonly points: number };
  readonly haloc: { readonly searchEpochs: number; readonly finetuneEpochs: number; readonly budgets?: readonly number[]; readonly batchSize?: number };
  /** Where the HALOC mode keeps its searched and fine-tuned models. */
  readonly workDir: string;
  readonly seed?: number;
}

/** What a search job returns. */
export interface SearchJobResult {
  readonly result: SearchResultFile;
  readonly layers: LayerView[];
}

/** Reports progress: a phase in words and the overall fraction done (0..1). */
export type JobProgress = (message: string, fraction?: number) => void;

/** Where each fast-search phase sits in the whole job (start, share). */
const fastPhases: Readonly<Record<SearchProgress['phase'], readonly [number, number]>> = {
  factorize: [0.1, 0.1],
  errors: [0.2, 0.3],
  sensitivity: [0.5, 0.2],
  allocate: [0.7, 0.02],
  evaluate: [0.72, 0.28],
};

/** Runs a search job. */
export async function runSearchJob(settings: SearchJobSettings, cancel: CancelSignal, progress: JobProgress, memoryLimitMb = defaultMemoryLimitMb()): Promise<SearchJobResult> {
  const started = performance.now();
  if (settings.mode === 'haloc' && !settings.data) throw new HalocError('BAD_ARGUMENT', 'the full HALOC search trains the model and needs a labelled dataset: choose a dataset folder, or run the fast preview data-free');
  progress('reading and analysing the model', 0);
  const model = readOnnxModel(settings.modelPath);
  checkMemoryLimit(modelBytesOnDisk(model), memoryLimitMb, settings.modelPath);
  const analysis = await analyzeModel(model, { batch: settings.batch });
  cancel.throwIfCancelled();
  const threads = jobThreads(settings.threads);
  const latency = await resolveSearchLatency(model, analysis, settings.target, { threads, granularity: settings.granularity || undefined }, cancel, (message) => progress(`latency: ${message}`, 0.05));
  cancel.throwIfCancelled();
  const seed = settings.seed ?? 0;
  if (settings.mode === 'fast') {
    const split = settings.data ? calibrationAndTest(...loadJobData(settings, settings.data, progress), settings.fast.calibration, seed) : dataFreeSplit(analysis, settings.dataFreePreprocessing ?? {}, settings.fast.calibration, settings.fast.calibration, seed);
    return runFast(settings, { model, analysis, latency, split, threads, seed, started }, cancel, progress);
  }
  const data = settings.data as JobData;
  const { train, test } = trainAndTest(...loadJobData(settings, data, progress), seed);
  const budgets = settings.haloc.budgets ?? [settings.budget ?? 0.5];
  const result = await halocSearch({
    model, analysis, latency, train, test, budgets, seed, threads, cancel, workDir: settings.workDir, resume: true,
    searchEpochs: settings.haloc.searchEpochs, finetuneEpochs: settings.haloc.finetuneEpochs, batchSize: settings.haloc.batchSize ?? 64,
    augmentFill: blackFill(data.preprocessing.mean ?? [0], data.preprocessing.std ?? [1]),
    progress: halocProgress(budgets.length, progress),
  });
  const layers = await prepareSearchLayers(model, analysis, latency.table, latency.layerKeys, cancel);
  return { result: { ...result, seconds: { ...result.seconds, total: (performance.now() - started) / 1000 } }, layers: layerViews(layers, latency) };
}

/** What the fast run needs besides the settings. */
interface FastContext {
  readonly model: ReturnType<typeof readOnnxModel>;
  readonly analysis: ModelAnalysis;
  readonly latency: SearchLatency;
  readonly split: CalibrationSplit;
  readonly threads: number;
  readonly seed: number;
  readonly started: number;
}

async function runFast(settings: SearchJobSettings, c: FastContext, cancel: CancelSignal, progress: JobProgress): Promise<SearchJobResult> {
  const latencySeconds = (performance.now() - c.started) / 1000;
  const outcome = await fastSearch({
    model: c.model, analysis: c.analysis, latency: c.latency, calibration: c.split.calibration, test: c.split.test, seed: c.seed, budget: settings.budget, threads: c.threads, cancel,
    frontPoints: settings.fast.points,
    progress: (p) => {
      const [start, share] = fastPhases[p.phase];
      progress(`${p.phase}: ${p.message}`, start + share * p.fraction);
    },
  });
  const dataFree = settings.data ? [] : ['data-free preview: no dataset was given, so the search ran on synthetic unlabelled images of the input shape; every accuracy figure is estimated from the agreement with the original model, not measured'];
  const seconds = { latency: latencySeconds, ...outcome.result.seconds, total: (performance.now() - c.started) / 1000 };
  return { result: { ...outcome.result, seconds, notes: [...dataFree, ...outcome.result.notes] }, layers: layerViews(outcome.layers, c.latency) };
}

/** The job's dataset (and evaluation dataset) loaded with its preprocessing, decoding progress reported. */
export function loadJobData(settings: Pick<SearchJobSettings, 'evalData'>, data: JobData, progress: JobProgress): [SourcedDataset, SourcedDataset | undefined] {
  const load = (source: string): SourcedDataset => {
    const loaded = loadDataset(source, data.preprocessing, { onProgress: (done, total) => progress(`decoding ${source}: ${done}/${total} images`, 0.08) });
    return { dataset: loaded.dataset, source };
  };
  return [load(data.path), settings.evalData ? load(settings.evalData.path) : undefined];
}

/** The thread count of a job (0: every core). */
export function jobThreads(threads: number): number {
  return threads > 0 ? Math.floor(threads) : os.availableParallelism();
}

/** HALOC progress as the job's: each point's search and fine-tuning are one stage each. */
function halocProgress(points: number, progress: JobProgress): (p: HalocProgress) => void {
  const stages: string[] = [];
  return (p) => {
    const key = `${p.phase} ${p.what}`;
    if ((p.phase === 'search' || p.phase === 'finetune') && !stages.includes(key)) stages.push(key);
    const stage = Math.max(0, stages.indexOf(key));
    const within = p.totalSteps > 0 ? p.step / p.totalSteps : 0;
    const fraction = 0.1 + 0.9 * Math.min(1, (stage + (stages.includes(key) ? within : 0)) / (2 * points));
    const loss = p.loss === null ? '' : `, loss ${p.loss.toFixed(4)}`;
    progress(`${p.phase}: ${p.what}${p.totalSteps > 1 ? ` step ${p.step}/${p.totalSteps}` : ''}${loss}`, fraction);
  };
}
