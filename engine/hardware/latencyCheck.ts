// The honest whole-model check: predicted latency (the measured untouched part plus the layers' table
// entries, each less one call overhead) against the measured end-to-end latency, for the original
// model and, given ranks, for the compressed one (built with random factors: latency does not depend
// on values).
import type { LayerRank } from '../factorize/rankPlan';
import { rewriteModel } from '../factorize/rewriteModel';
import type { ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx, inlineExternalData } from '../onnx/writeOnnx';
import { randomFactors } from './layerBenchModels';
import { latencyAtRank, type LatencyTable } from './latencyTable';
import { timeKernels, timeModel, type TimedInput, type TimingSettings } from './timeSession';
import { untouchedPart } from './untouchedPart';

/** Predicted against measured, in milliseconds. */
export interface LatencyComparison {
  readonly predictedMs: number;
  readonly measuredMs: number;
  /** 100 x (predicted - measured) / measured. */
  readonly errorPct: number;
}

/** The check of a model and optionally of its compressed version. */
export interface LatencyCheck {
  readonly original: LatencyComparison;
  readonly compressed?: LatencyComparison;
  readonly untouchedMs: number;
  readonly batch: number;
}

/** Predicts from `table` (entries by `layerKeys`) and measures both models on this machine. */
export async function checkLatency(model: OnnxModel, analysis: ModelAnalysis, table: LatencyTable, layerKeys: Readonly<Record<string, string>>, timing: TimingSettings, ranks?: Readonly<Record<string, LayerRank>>): Promise<LatencyCheck> {
  const layers = analysis.layers.filter((l) => l.compressible && layerKeys[l.name] && table.layers[layerKeys[l.name] ?? '']);
  const inputs: TimedInput[] = analysis.model.inputs.map((i) => ({ name: i.name, dims: i.shape.map((d) => (typeof d === 'number' ? d : analysis.model.batch)), elemType: i.elemType }));
  const untouched = untouchedPart(model, layers, inputs);
  // The untouched part's own compute, plus one run's fixed cost (the table's call overhead).
  const untouchedMs = (await timeKernels(encodeOnnx(inlineExternalData(untouched.model, model.constants)), untouched.inputs, timing)).kernelMs + table.callOverheadMs;
  const entryOf = (name: string) => table.layers[layerKeys[name] ?? ''];
  const predict = (rankOf: (name: string) => LayerRank): number =>
    untouchedMs + layers.reduce((sum, l) => {
      const entry = entryOf(l.name);
      const rank = rankOf(l.name);
      const ms = !entry ? 0 : rank === 'keep' ? entry.originalMs : latencyAtRank(entry, rank);
      return sum + ms;
    }, 0);
  const compare = async (bytes: Uint8Array, predictedMs: number): Promise<LatencyComparison> => {
    const measuredMs = (await timeModel(bytes, inputs, timing)).medianMs;
    return { predictedMs, measuredMs, errorPct: (100 * (predictedMs - measuredMs)) / measuredMs };
  };
  const original = await compare(encodeOnnx(inlineExternalData(model.proto, model.constants)), predict(() => 'keep'));
  if (!ranks) return { original, untouchedMs, batch: analysis.model.batch };
  const rewrites = layers.flatMap((layer) => {
    const rank = ranks[layer.name] ?? 'keep';
    return rank === 'keep' || !layer.lowRankShape ? [] : [{ layer, factors: randomFactors(layer.lowRankShape, rank) }];
  });
  const compressedModel = inlineExternalData(rewriteModel(model, rewrites), model.constants);
  const compressed = await compare(encodeOnnx(compressedModel), predict((name) => ranks[name] ?? 'keep'));
  return { original, compressed, untouchedMs, batch: analysis.model.batch };
}
