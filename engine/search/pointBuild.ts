// The model of one point of a finished search, rebuilt from the search's settings alone (the search
// ran in another job, maybe before VS Code restarted): a fast point is factorized at its ranks and
// bias-corrected on the same calibration images the search used (the same seeded split, so the same
// shifts: the model the search measured); a HALOC point is its fine-tuned model file.
import * as fs from 'node:fs';
import type { CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import { factorsAtRank, layerBasis } from '../factorize/layerBasis';
import type { LayerRank } from '../factorize/rankPlan';
import { rewriteModel, type LayerRewrite } from '../factorize/rewriteModel';
import type { ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx, inlineExternalData } from '../onnx/writeOnnx';
import type { onnx } from '../onnx/proto';
import { applyBiasShifts, type BiasShift } from './biasCorrection';
import { measureLayerErrors, type ErrorJob } from './measureLayerErrors';
import type { NamedSet } from './fastSearch';

/** A point to build: its ranks, and (HALOC mode) its fine-tuned model. */
export interface PointSpec {
  readonly id: string;
  readonly name: string;
  readonly ranks: Readonly<Record<string, LayerRank>>;
  /** The fine-tuned model of a HALOC point; null for a fast point. */
  readonly onnx: string | null;
}

/** A built point: the model (when rebuilt here), its bytes with every weight inline, and how it was made. */
export interface BuiltPoint {
  readonly proto: onnx.IModelProto | null;
  readonly bytes: Uint8Array;
  readonly how: string;
}

/** The fast point's model: factorized at its ranks, bias-corrected on `calibration` (plain when null). */
export async function buildFastPoint(model: OnnxModel, analysis: ModelAnalysis, point: PointSpec, calibration: NamedSet | null, threads: number, cancel: CancelSignal, progress: (fraction: number) => void): Promise<BuiltPoint> {
  const rewrites: LayerRewrite[] = [];
  const jobs: ErrorJob[] = [];
  const entries = Object.entries(point.ranks).filter((e): e is [string, number] => e[1] !== 'keep');
  for (const [index, [name, rank]] of entries.entries()) {
    cancel.throwIfCancelled();
    progress((0.3 * index) / Math.max(1, entries.length));
    const layer = analysis.layers.find((l) => l.name === name && l.compressible);
    if (!layer) throw new HalocError('BAD_ARGUMENT', `layer '${name}' of ${point.name} is not a compressible layer of ${analysis.model.name}: the model changed since the search; search again`);
    if (!Number.isInteger(rank) || rank < 1 || rank > (layer.maxRank ?? 0)) throw new HalocError('BAD_ARGUMENT', `${point.name}: rank ${rank} of layer '${name}' is not in 1..${layer.maxRank ?? 0}; search again`);
    const factors = await factorsAtRank(await layerBasis(model, layer), rank, 0);
    rewrites.push({ layer, factors });
    jobs.push({ layer, ranks: [rank], factors: () => Promise.resolve(factors) });
  }
  const rewritten = rewriteModel(model, rewrites);
  if (!calibration || jobs.length === 0) return { proto: rewritten, bytes: encodeOnnx(inlineExternalData(rewritten, model.constants)), how: 'factorized at the point\'s ranks (no bias correction)' };
  const { errors, images } = await measureLayerErrors(model, jobs, calibration.dataset, calibration.indices, { batchSize: 64, threads }, cancel, (f) => progress(0.3 + 0.7 * f));
  const shifts: BiasShift[] = jobs.flatMap((job) => {
    const shift = errors.get(job.layer.name)?.shift[0];
    return shift ? [{ layer: job.layer, shift }] : [];
  });
  const proto = applyBiasShifts(model, rewritten, shifts);
  return { proto, bytes: encodeOnnx(inlineExternalData(proto, model.constants)), how: `factorized at the point's ranks and bias-corrected on ${images} calibration images (${calibration.source}), as the search measured it; not fine-tuned` };
}

/** The HALOC point's fine-tuned model file, as the search wrote it. */
export function readHalocPoint(point: PointSpec): BuiltPoint {
  if (!point.onnx) throw new HalocError('BAD_ARGUMENT', `${point.name} has no fine-tuned model file`);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(point.onnx);
  } catch {
    throw new HalocError('NOT_FOUND', `${point.onnx}: the fine-tuned model of ${point.name} is gone (its work folder was removed?): run the search again`);
  }
  return { proto: null, bytes, how: `the fine-tuned model of the HALOC search (${point.onnx})` };
}
