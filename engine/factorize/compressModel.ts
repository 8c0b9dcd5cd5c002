// The compress job: choose ranks (a plan file, a uniform fraction of each layer's maximum rank, or
// the share of spectrum energy kept), factorize, rewrite, check the new model against the original
// in onnxruntime-node, and write it next to the input through a temporary file and a rename.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import { outputDifference, type OutputDifference } from '../evaluate/outputDifference';
import { analyzeModel, type AnalysisSettings, type LayerAnalysis } from '../graph/analyzeModel';
import { lowRankMacs, tuckerRanks, type LowRankShape } from '../graph/lowRankCost';
import { isSameFile } from '../io/atomicWrite';
import { externalDataFiles } from '../onnx/externalData';
import { readOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx, inlineExternalData, writeOnnxFile } from '../onnx/writeOnnx';
import { factorsAtRank, layerBasis, layerSpectrum, rankForEnergy, type LayerSpectrum } from './layerBasis';
import { checkPlan, type LayerRank, type RankPlan } from './rankPlan';
import { rewriteModel, type LayerRewrite } from './rewriteModel';

/** How ranks are chosen. */
export type RankChoice =
  | { readonly kind: 'plan'; readonly plan: RankPlan; readonly origin: string }
  | { readonly kind: 'uniform'; readonly fraction: number }
  | { readonly kind: 'energy'; readonly fraction: number };

/** Settings of one compression. */
export interface CompressSettings extends AnalysisSettings {
  readonly choice: RankChoice;
  /** Output file; default `<model>.<tag>.onnx` next to the input. */
  readonly outputPath?: string | undefined;
  readonly hooiIterations?: number | undefined;
  /** Seeded random input batches for the output check (default 4). */
  readonly checkSamples?: number | undefined;
}

/** One layer of the report. */
export interface CompressedLayer {
  readonly name: string;
  readonly op: string;
  readonly decomposition: 'tucker2' | 'svd';
  readonly rank: LayerRank;
  readonly maxRank: number;
  readonly macsBefore: number;
  readonly macsAfter: number;
  readonly paramsBefore: number;
  readonly paramsAfter: number;
  /** ||W - W_r|| / ||W|| of the weight; null when kept. */
  readonly weightError: number | null;
  /** The layer's spectrum and error for every rank; null when kept (not computed). */
  readonly spectrum: LayerSpectrum | null;
}

/** What a compression did. */
export interface CompressReport {
  readonly input: string;
  readonly output: string;
  readonly plan: RankPlan;
  readonly layers: readonly CompressedLayer[];
  readonly totals: { readonly macsBefore: number; readonly macsAfter: number; readonly paramsBefore: number; readonly paramsAfter: number; readonly factorizedLayers: number };
  readonly outputDiff: OutputDifference;
}

/** Compresses a model file; writes nothing on any failure. */
export async function compressModel(modelPath: string, settings: CompressSettings, cancel: CancelSignal = neverCancelled, progress: (message: string, fraction?: number) => void = () => undefined): Promise<CompressReport> {
  const model = readOnnxModel(modelPath);
  const output = path.resolve(settings.outputPath ?? defaultOutputPath(modelPath, settings.choice));
  refuseInputFiles(output, model);
  const analysis = await analyzeModel(model, settings);
  if (settings.choice.kind === 'plan') checkPlan(settings.choice.plan, analysis, settings.choice.origin);
  const candidates = analysis.layers.filter((l) => l.compressible);
  if (candidates.length === 0) throw new HalocError('BAD_ARGUMENT', `${modelPath}: the model has no compressible layer`);
  const rewrites: LayerRewrite[] = [];
  const layers: CompressedLayer[] = [];
  const ranks: Record<string, LayerRank> = {};
  for (const [index, layer] of candidates.entries()) {
    cancel.throwIfCancelled();
    progress(`factorizing ${layer.name}`, index / candidates.length);
    const wanted = plannedRank(settings.choice, layer);
    if (wanted === 'keep') {
      ranks[layer.name] = 'keep';
      layers.push(reportLayer(layer, 'keep', null, null));
      continue;
    }
    const basis = await layerBasis(model, layer);
    // Capped at the max rank: past it the (rounding-level) error does not fall, and Tucker-2's
    // errorByRank runs to max(Cin, Cout), which can exceed the max rank.
    const rank = wanted === 'energy' ? Math.min(rankForEnergy(basis.errorByRank, (settings.choice as { fraction: number }).fraction), layer.maxRank ?? Infinity) : wanted;
    const factors = await factorsAtRank(basis, rank, settings.hooiIterations ?? 0);
    rewrites.push({ layer, factors });
    ranks[layer.name] = rank;
    // Before opset 11 the rewrite's first Gemm needs a C: one zero value (see rewriteModel).
    const zeroC = layer.op === 'Gemm' && model.opsetVersion < 11 ? 1 : 0;
    layers.push(reportLayer(layer, rank, basis.errorByRank[Math.min(rank, basis.errorByRank.length) - 1] ?? 0, layerSpectrum(basis), zeroC));
  }
  cancel.throwIfCancelled();
  progress('checking the rewritten model in onnxruntime', 0.9);
  const rewritten = rewriteModel(model, rewrites);
  // Sessions made from bytes cannot find external data files: the check runs on inlined copies.
  const bytes = encodeOnnx(inlineExternalData(rewritten, model.constants));
  // The original is loaded from its file (no second copy of its weights in memory).
  const outputDiff = await outputDifference(model.filePath, bytes, analysis.model.inputs.map((i) => ({ name: i.name, dims: i.shape, elemType: i.elemType })), settings.checkSamples ?? 4);
  cancel.throwIfCancelled();
  writeOnnxFile(rewritten, output, { encoded: bytes, protectedPaths: inputFiles(model), constants: model.constants, ...(bytes.length > 1.8e9 ? { externalDataMinBytes: 1024 } : {}) });
  const plan: RankPlan = { model: path.basename(modelPath), source: planSource(settings.choice), ranks };
  return { input: path.resolve(modelPath), output, plan, layers, totals: totalsOf(analysis.totals, layers, rewrites.length), outputDiff };
}

/** The input model and its external data files: never to be overwritten. */
function inputFiles(model: OnnxModel): string[] {
  return [path.resolve(model.filePath), ...externalDataFiles(model.graph, model.dir)];
}

/** Refuses, before any work, an output (or its `<output>.data`) that is one of the input's files, or whose folder does not exist. */
function refuseInputFiles(output: string, model: OnnxModel): void {
  const clash = inputFiles(model).find((file) => isSameFile(file, output) || isSameFile(file, `${output}.data`));
  if (clash) throw new HalocError('BAD_ARGUMENT', `${output}: refusing to overwrite the input model or its data file (${path.basename(clash)}); choose another output path`);
  const folder = path.dirname(output);
  let isFolder = false;
  try {
    isFolder = fs.statSync(folder).isDirectory();
  } catch {
    // missing, or a path through a regular file
  }
  if (!isFolder) throw new HalocError('IO', `${output}: cannot be written (${folder} is not an existing folder); nothing was written`);
}

/** `<model>.<tag>.onnx` next to the input: u50 (uniform 0.5), e90 (energy 0.9), or lowrank (plan). */
export function defaultOutputPath(modelPath: string, choice: RankChoice): string {
  const tag = choice.kind === 'uniform' ? `u${Math.round(choice.fraction * 100)}` : choice.kind === 'energy' ? `e${Math.round(choice.fraction * 100)}` : 'lowrank';
  return path.join(path.dirname(modelPath), `${path.basename(modelPath, '.onnx')}.${tag}.onnx`);
}

function plannedRank(choice: RankChoice, layer: LayerAnalysis): LayerRank | 'energy' {
  switch (choice.kind) {
    case 'plan': return choice.plan.ranks[layer.name] ?? 'keep';
    case 'uniform': return Math.max(1, Math.round(choice.fraction * (layer.maxRank ?? 1)));
    case 'energy': return 'energy';
  }
}

function reportLayer(layer: LayerAnalysis, rank: LayerRank, weightError: number | null, spectrum: LayerSpectrum | null, extraParams = 0): CompressedLayer {
  const shape = layer.lowRankShape as LowRankShape;
  const macsAfter = rank === 'keep' ? (layer.macs ?? 0) : lowRankMacs(shape, rank);
  const biasParams = layer.params - fullWeightParams(shape);
  return {
    name: layer.name,
    op: layer.op,
    decomposition: shape.kind,
    rank,
    maxRank: layer.maxRank ?? 0,
    macsBefore: layer.macs ?? 0,
    macsAfter,
    paramsBefore: layer.params,
    paramsAfter: rank === 'keep' ? layer.params : lowRankParams(shape, rank) + biasParams + extraParams,
    weightError,
    spectrum,
  };
}

function fullWeightParams(shape: LowRankShape): number {
  return shape.kind === 'svd' ? shape.inFeatures * shape.outFeatures : shape.inChannels * shape.outChannels * shape.kernelElements;
}

/** Parameters of the factor weights at rank r. */
export function lowRankParams(shape: LowRankShape, rank: number): number {
  if (shape.kind === 'svd') return rank * (shape.inFeatures + shape.outFeatures);
  const { rankIn, rankOut } = tuckerRanks(shape, rank);
  return rankIn * shape.inChannels + rankOut * rankIn * shape.kernelElements + shape.outChannels * rankOut;
}

function planSource(choice: RankChoice): NonNullable<RankPlan['source']> {
  const createdAt = new Date().toISOString();
  if (choice.kind === 'plan') return { ...(choice.plan.source ?? { kind: 'manual' }), description: choice.plan.source?.description ?? `from ${choice.origin}` };
  if (choice.kind === 'uniform') return { kind: 'uniform', description: `rank = ${choice.fraction} x each layer's maximum rank`, createdAt, tool: 'haloc' };
  return { kind: 'energy', description: `smallest rank keeping ${choice.fraction} of each layer's spectrum energy`, createdAt, tool: 'haloc' };
}

/** Whole-model totals: the analysis totals minus what the factorized layers saved. */
function totalsOf(modelTotals: { readonly macs: number; readonly params: number }, layers: readonly CompressedLayer[], factorized: number): CompressReport['totals'] {
  const saved = (pick: (l: CompressedLayer) => number): number => layers.reduce((s, l) => s + pick(l), 0);
  return {
    macsBefore: modelTotals.macs,
    macsAfter: modelTotals.macs - saved((l) => l.macsBefore - l.macsAfter),
    paramsBefore: modelTotals.params,
    paramsAfter: modelTotals.params - saved((l) => l.paramsBefore - l.paramsAfter),
    factorizedLayers: factorized,
  };
}
