// The honest whole-model check: predicted latency (the measured untouched part plus the layers' table
// entries, each less one call overhead) against the measured end-to-end latency, for the original
// model and, given ranks, for the compressed one (built with random factors: latency does not depend
// on values). The untouched part is timed inside the original model (see untouchedInContext.ts). It,
// both models and every layer entry the two predictions use are timed in interleaved rounds, each in a
// fresh session, so that a busy moment of another process on a shared machine lands on neither side
// alone, and each keeps its median round, as the table's entries keep their median pass (see
// buildLatencyTable): a fresh session of a whole model runs 10-30% slower or, more rarely, faster than
// the usual for all its runs (see wholeModelRounds), and the lowest round took the fast one.
// The entries timed again give the prediction a second time, from the same moment as the measurement,
// and the table's drift: this machine's speed moves by 10-25% over seconds to minutes, so a table
// measured just before a check predicted a ResNet-14 at batch 32 5-16% low in five checks in a row,
// where the same sum from entries timed in the check's rounds was 1-6% low (in the bench's eight runs,
// 32 figures, the entries timed again were within 13%; in another check 23% off, the whole model
// running faster than its layers in the same rounds). Both are reported; neither replaces the other:
// the table is what a search uses, the second figure tests the additive model itself.
import type { LayerRank } from '../factorize/rankPlan';
import { rewriteModel } from '../factorize/rewriteModel';
import type { LayerAnalysis, ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx, inlineExternalData } from '../onnx/writeOnnx';
import { layerBenchModels, randomFactors, type LayerBenchModels } from './layerBenchModels';
import { timeEntry } from './buildLatencyTable';
import { latencyAtRank, type LatencyTable } from './latencyTable';
import { medianOfRounds, timeKernels, wholeModelRounds, wholeModelTiming, type SharedTiming, type TimedInput, type TimingSettings } from './timeSession';
import { layerMark, untouchedInContext } from './untouchedInContext';
import { untouchedPart } from './untouchedPart';

/** Predicted against measured, in milliseconds. */
export interface LatencyComparison {
  /** The untouched part plus the layers' table entries. */
  readonly predictedMs: number;
  readonly measuredMs: number;
  /** 100 x (predicted - measured) / measured. */
  readonly errorPct: number;
  /** The same sum from the layers' benchmark models timed again in the check's own rounds: the additive model without the machine's drift since the table was measured. */
  readonly retimed: { readonly predictedMs: number; readonly errorPct: number };
}

/** The check of a model and optionally of its compressed version. */
export interface LatencyCheck {
  readonly original: LatencyComparison;
  readonly compressed?: LatencyComparison;
  readonly untouchedMs: number;
  readonly batch: number;
  /** 100 x (the layers' table entries - the same entries timed again now) / now, over both predictions: how much slower (+) or faster (-) the machine ran the layers when the table was measured. */
  readonly tableDriftPct: number;
  /** The lowest CPU share among the kept timings: below minCpuShare another process held a core during one of them. */
  readonly cpuShare: number;
}

/** Predicts from `table` (entries by `layerKeys`) and measures both models and the layers' entries on this machine in `rounds` interleaved rounds (see the file comment). */
export async function checkLatency(model: OnnxModel, analysis: ModelAnalysis, table: LatencyTable, layerKeys: Readonly<Record<string, string>>, timing: TimingSettings, ranks?: Readonly<Record<string, LayerRank>>, rounds = wholeModelRounds): Promise<LatencyCheck> {
  const layers = analysis.layers.filter((l) => l.compressible && layerKeys[l.name] && table.layers[layerKeys[l.name] ?? '']);
  const inputs: TimedInput[] = analysis.model.inputs.map((i) => ({ name: i.name, dims: i.shape.map((d) => (typeof d === 'number' ? d : analysis.model.batch)), elemType: i.elemType }));
  const inContext = untouchedInContext(model, layers);
  const originalBytes = encodeOnnx(inlineExternalData(model.proto, model.constants));
  const compressedBytes = ranks ? compressedModel(model, layers, ranks) : undefined;
  const keepAll = (): LayerRank => 'keep';
  const compressedRanks = ranks ? (name: string): LayerRank => ranks[name] ?? 'keep' : undefined;
  const settings = compressedRanks ? [keepAll, compressedRanks] : [keepAll];
  const entries = entryBenchModels(model, layers, layerKeys, settings);
  // windows of at least 200 ms: this machine's speed drifts by 10-30% within seconds, and a short window caught one moment
  const wall = (bytes: Uint8Array): Promise<SharedTiming> => wholeModelTiming(bytes, inputs, { ...timing, minTotalMs: Math.max(timing.minTotalMs ?? 0, 200) });
  const kept = await medianOfRounds(rounds, [
    () => untouchedKernelTiming(model, layers, inputs, timing, inContext),
    () => wall(originalBytes),
    ...(compressedBytes ? [() => wall(compressedBytes)] : []),
    ...[...entries.values()].map((bench) => () => timeEntry(bench.bytes, bench.inputs, timing)),
  ]);
  const wholeTimings = compressedBytes ? 3 : 2; // the untouched part and the models, then the entries
  const [untouchedKernelMs = 0, originalMs = 0, compressedMs = 0] = kept.slice(0, wholeTimings).map((t) => t.ms);
  const retimedMs = new Map([...entries.keys()].map((id, i) => [id, kept[wholeTimings + i]?.ms ?? NaN]));
  const cpuShare = Math.min(...kept.map((t) => t.cpuShare));
  // The untouched part's own compute, plus one run's fixed cost (the table's call overhead).
  const untouchedMs = untouchedKernelMs + table.callOverheadMs;
  const layersMs = (rankOf: (name: string) => LayerRank, entryMs: (layer: LayerAnalysis, rank: LayerRank) => number): number => layers.reduce((sum, l) => sum + entryMs(l, rankOf(l.name)), 0);
  const fromTable = (layer: LayerAnalysis, rank: LayerRank): number => {
    const entry = table.layers[layerKeys[layer.name] ?? ''];
    return !entry ? 0 : rank === 'keep' ? entry.originalMs : latencyAtRank(entry, rank);
  };
  const fromNow = (layer: LayerAnalysis, rank: LayerRank): number => retimedMs.get(entryId(layerKeys, layer, rank)) ?? NaN;
  const errorPct = (predictedMs: number, measuredMs: number): number => (100 * (predictedMs - measuredMs)) / measuredMs;
  const compare = (rankOf: (name: string) => LayerRank, measuredMs: number): LatencyComparison => {
    const predictedMs = untouchedMs + layersMs(rankOf, fromTable);
    const retimed = untouchedMs + layersMs(rankOf, fromNow);
    return { predictedMs, measuredMs, errorPct: errorPct(predictedMs, measuredMs), retimed: { predictedMs: retimed, errorPct: errorPct(retimed, measuredMs) } };
  };
  const sum = (entryMs: (layer: LayerAnalysis, rank: LayerRank) => number): number => settings.reduce((total, rankOf) => total + layersMs(rankOf, entryMs), 0);
  const check = { original: compare(keepAll, originalMs), untouchedMs, batch: analysis.model.batch, tableDriftPct: errorPct(sum(fromTable), sum(fromNow)), cpuShare };
  return compressedRanks ? { ...check, compressed: compare(compressedRanks, compressedMs) } : check;
}

/** One benchmark model of a layer entry the check times again. */
interface EntryBench {
  readonly bytes: Uint8Array;
  readonly inputs: readonly TimedInput[];
}

/** The benchmark models of every layer entry the given settings use (original or at a rank), one per table key and rank: layers of one shape share theirs. */
function entryBenchModels(model: OnnxModel, layers: readonly LayerAnalysis[], layerKeys: Readonly<Record<string, string>>, settings: readonly ((name: string) => LayerRank)[]): Map<string, EntryBench> {
  const benches = new Map<string, EntryBench>();
  for (const layer of layers) {
    let bench: LayerBenchModels | undefined;
    for (const rankOf of settings) {
      const rank = rankOf(layer.name);
      const id = entryId(layerKeys, layer, rank);
      if (benches.has(id)) continue;
      bench ??= layerBenchModels(model, layer);
      benches.set(id, { bytes: rank === 'keep' ? bench.original : bench.atRank(rank), inputs: bench.inputs });
    }
  }
  return benches;
}

function entryId(layerKeys: Readonly<Record<string, string>>, layer: LayerAnalysis, rank: LayerRank): string {
  return `${layerKeys[layer.name] ?? layer.name} @ ${rank}`;
}

/**
 * The kernel time of the untouched part (everything but `layers`), timed inside the model (`inContext`,
 * from untouchedInContext) with the layers' kernels left out; where onnxruntime named the layers' nodes
 * otherwise, the untouched part alone (without what happens where it meets the layers).
 */
export async function untouchedKernelTiming(model: OnnxModel, layers: readonly LayerAnalysis[], inputs: readonly TimedInput[], timing: TimingSettings, inContext = untouchedInContext(model, layers)): Promise<SharedTiming> {
  const timed = await timeKernels(inContext, inputs, timing, { leaveOut: layerMark, keepBorders: true });
  if (timed.leftOutNodes >= layers.length) return { ms: timed.kernelMs, cpuShare: timed.cpuShare };
  const alone = untouchedPart(model, layers, inputs);
  const timedAlone = await timeKernels(inlineExternalData(alone.model, model.constants), alone.inputs, timing);
  return { ms: timedAlone.kernelMs, cpuShare: timedAlone.cpuShare };
}

/** The model with the given layers rewritten at their ranks from random factors (latency does not depend on values), as bytes. */
function compressedModel(model: OnnxModel, layers: readonly LayerAnalysis[], ranks: Readonly<Record<string, LayerRank>>): Uint8Array {
  const rewrites = layers.flatMap((layer) => {
    const rank = ranks[layer.name] ?? 'keep';
    return rank === 'keep' || !layer.lowRankShape ? [] : [{ layer, factors: randomFactors(layer.lowRankShape, rank) }];
  });
  return encodeOnnx(inlineExternalData(rewriteModel(model, rewrites), model.constants));
}
