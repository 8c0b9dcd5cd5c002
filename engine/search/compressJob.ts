// The editor's "compress to this point" job: builds the model of one point of a finished search
// (pointBuild.ts), checks it against the original in onnxruntime-node, measures both on this machine
// (end-to-end latency; top-1 on the search's held-out labelled images when there are some), and only
// then writes it through a temporary file and a rename, never over the original. Returns the report.
import * as path from 'node:path';
import type { CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import { evaluateAccuracy } from '../evaluate/accuracy';
import { outputDifference, type OutputDifference } from '../evaluate/outputDifference';
import { analyzeModel, type ModelAnalysis } from '../graph/analyzeModel';
import { timeModelsInRounds, wholeModelRounds } from '../hardware/timeSession';
import { isSameFile, writeFileAtomic } from '../io/atomicWrite';
import { filesBytes } from '../io/fileBytes';
import { checkMemoryLimit, defaultMemoryLimitMb } from '../io/memoryLimit';
import { externalDataFiles } from '../onnx/externalData';
import { decodeOnnxModel, readOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { writeOnnxFile } from '../onnx/writeOnnx';
import type { NamedSet } from './fastSearch';
import { buildFastPoint, readHalocPoint, type BuiltPoint, type PointSpec } from './pointBuild';
import { calibrationAndTest, dataFreeSplit, trainAndTest } from './searchData';
import { jobThreads, loadJobData, type JobData, type JobProgress, type SearchJobSettings } from './searchJob';

/** What to compress: a point of the search run with `search`, written to `outputPath`. */
export interface CompressJobRequest {
  readonly search: SearchJobSettings;
  readonly point: PointSpec;
  readonly outputPath: string;
  /** Labelled images to measure top-1 on when the search had none (a data-free preview): all of them are used. */
  readonly accuracyData?: JobData;
  /** Refuse models that would need more memory (MB; default three quarters of this machine's, 0: no limit). */
  readonly memoryLimitMb?: number;
}

/** A before / after figure and where it comes from. */
export interface ReportFigure {
  readonly before: number;
  readonly after: number;
  /** 'counted' from the graph, 'measured' on this machine. */
  readonly kind: 'counted' | 'measured';
  readonly how: string;
}

/** What a compression wrote and how the result compares with the original. */
export interface CompressJobReport {
  readonly modelPath: string;
  readonly outputPath: string;
  readonly point: { readonly id: string; readonly name: string };
  /** How the written model was made, in words. */
  readonly built: string;
  readonly factorizedLayers: number;
  readonly macs: ReportFigure;
  readonly params: ReportFigure;
  readonly fileBytes: ReportFigure;
  readonly latencyMs: ReportFigure;
  /** Top-1 (0..1); null when no labelled dataset is known (`top1Note` says why). */
  readonly top1: (ReportFigure & { readonly images: number }) | null;
  readonly top1Note: string;
  readonly outputDifference: OutputDifference & { readonly kind: 'measured' };
}

/** Runs the compress job; writes nothing on any failure or cancellation. */
export async function runCompressJob(request: CompressJobRequest, cancel: CancelSignal, progress: JobProgress): Promise<CompressJobReport> {
  const { search, point } = request;
  const output = path.resolve(request.outputPath);
  progress('reading and analysing the model', 0);
  const model = readOnnxModel(search.modelPath);
  const protectedPaths = [path.resolve(model.filePath), ...externalDataFiles(model.graph, model.dir)];
  checkMemoryLimit(filesBytes(protectedPaths), request.memoryLimitMb ?? defaultMemoryLimitMb(), search.modelPath);
  const clash = protectedPaths.find((p) => isSameFile(p, output) || isSameFile(p, `${output}.data`));
  if (clash) throw new HalocError('BAD_ARGUMENT', `${output}: refusing to overwrite the input model or its data file (${path.basename(clash)}); choose another output folder`);
  const analysis = await analyzeModel(model, { batch: search.batch });
  const threads = jobThreads(search.threads);
  const sets = search.data || search.mode === 'fast' ? splitsOf(search, analysis, progress) : null;
  cancel.throwIfCancelled();

  progress(`building ${point.name}`, 0.05);
  const built = point.onnx ? readHalocPoint(point) : await buildFastPoint(model, analysis, point, sets?.calibration ?? null, threads, cancel, (f) => progress(`building ${point.name}: bias correction on calibration images`, 0.05 + 0.4 * f));
  cancel.throwIfCancelled();
  progress('checking the compressed model against the original in onnxruntime', 0.5);
  const inputs = analysis.model.inputs;
  const difference = await outputDifference(model.filePath, built.bytes, inputs.map((i) => ({ name: i.name, dims: i.shape, elemType: i.elemType })), 4);
  const compressedAnalysis = await analyzeModel(decodeOnnxModel(built.bytes, output), { batch: search.batch });
  cancel.throwIfCancelled();

  progress('timing the original and the compressed model on this machine', 0.6);
  const timed = inputs.map((i) => ({ name: i.name, dims: i.shape.map((d) => (typeof d === 'number' ? d : analysis.model.batch)), elemType: i.elemType }));
  const timing = { threads, provider: 'cpu' as const };
  const [latencyBefore = NaN, latencyAfter = NaN] = await timeModelsInRounds([model.filePath, built.bytes], timed, timing, wholeModelRounds, cancel); // the original from its file: no encoded copy of it beside the sessions

  const test = accuracySet(request, sets?.test, progress);
  let top1: CompressJobReport['top1'] = null;
  if (test) {
    progress(`measuring top-1 on ${test.indices.length} labelled images`, 0.8);
    const before = await evaluateAccuracy(model.filePath, test.dataset, { indices: test.indices, cancel }); // from its file, as it is timed: no encoded copy
    const after = await evaluateAccuracy(built.bytes, test.dataset, { indices: test.indices, cancel });
    top1 = { before: before.top1, after: after.top1, images: after.images, kind: 'measured', how: `on ${after.images} images: ${test.source}` };
  }
  cancel.throwIfCancelled();

  progress(`writing ${output}`, 0.95);
  writeModel(built, output, model, protectedPaths, cancel);
  return {
    modelPath: path.resolve(model.filePath),
    outputPath: output,
    point: { id: point.id, name: point.name },
    built: built.how,
    factorizedLayers: Object.values(point.ranks).filter((r) => r !== 'keep').length,
    macs: { before: analysis.totals.macs, after: compressedAnalysis.totals.macs, kind: 'counted', how: `counted from the graphs at batch ${analysis.model.batch}` },
    params: { before: analysis.totals.params, after: compressedAnalysis.totals.params, kind: 'counted', how: 'counted from the graphs' },
    fileBytes: { before: filesBytes(protectedPaths), after: filesBytes([output, `${output}.data`]), kind: 'measured', how: 'size of the written files' },
    latencyMs: { before: latencyBefore, after: latencyAfter, kind: 'measured', how: `end to end in onnxruntime-node on this machine (CPU, ${threads} thread(s), batch ${analysis.model.batch}, median of ${wholeModelRounds} rounds of fresh sessions alternating with the original)` },
    top1,
    top1Note: top1 ? `measured on labelled images (${test?.source ?? ''})` : search.data || request.accuracyData ? `not measured: ${(search.data ?? request.accuracyData)?.path ?? ''} has no labels` : 'not measured: no labelled dataset is known for this model (the search was a data-free preview)',
    outputDifference: { ...difference, kind: 'measured' },
  };
}

/** Labelled images to measure top-1 on: the search's held-out split, else all of `accuracyData`; undefined when none is labelled. */
function accuracySet(request: CompressJobRequest, searchTest: NamedSet | undefined, progress: JobProgress): NamedSet | undefined {
  if (request.search.data) return searchTest?.dataset.labels ? searchTest : undefined;
  if (!request.accuracyData) return undefined;
  const [data] = loadJobData({}, request.accuracyData, progress);
  if (!data.dataset.labels) return undefined;
  return { dataset: data.dataset, indices: Int32Array.from({ length: data.dataset.count }, (_, i) => i), source: `all ${data.dataset.count} images of ${data.source} (the search itself used no data)` };
}

/** The search's calibration and held-out test images, rebuilt with the same seeded split. */
function splitsOf(search: SearchJobSettings, analysis: ModelAnalysis, progress: JobProgress): { calibration: NamedSet | null; test: NamedSet } {
  const seed = search.seed ?? 0;
  if (!search.data) return dataFreeSplit(analysis, search.dataFreePreprocessing ?? {}, search.fast.calibration, search.fast.calibration, seed);
  const [data, evalData] = loadJobData(search, search.data, progress);
  if (search.mode === 'fast') return calibrationAndTest(data, evalData, search.fast.calibration, seed);
  return { calibration: null, test: trainAndTest(data, evalData, seed).test };
}

/** Writes the built model atomically (a cancel leaves nothing): a rebuilt one as ONNX (external data beyond protobuf's limit), a fine-tuned one as its bytes. */
function writeModel(built: BuiltPoint, output: string, model: OnnxModel, protectedPaths: readonly string[], cancel: CancelSignal): void {
  if (!built.proto) return writeFileAtomic(output, [built.bytes], protectedPaths, cancel);
  writeOnnxFile(built.proto, output, { encoded: built.bytes, protectedPaths, cancel, constants: model.constants, ...(built.bytes.length > 1.8e9 ? { externalDataMinBytes: 1024 } : {}) });
}

/** `<model>.<tag>.onnx` for a point (in `folder`, default beside the model): e.g. mnist-8.haloc-front2.onnx. */
export function pointOutputPath(modelPath: string, pointId: string, folder?: string): string {
  const tag = `haloc-${pointId.replace(/[^A-Za-z0-9]+/g, '')}`;
  return path.join(folder ?? path.dirname(modelPath), `${path.basename(modelPath, '.onnx')}.${tag}.onnx`);
}
