// The honest whole-model check: predicted latency (the measured untouched part plus the layers' table
// entries, each less one call overhead) against the measured end-to-end latency, for the original
// model and, given ranks, for the compressed one (built with random factors: latency does not depend
// on values). The untouched part is timed inside the original model (see untouchedInContext.ts). It
// and both models are timed in several interleaved rounds, so that a busy moment of another process on
// a shared machine lands on neither side alone, and each keeps its median round, as the table's entries
// keep their median pass (see buildLatencyTable): a whole model timed in a fresh session now and then
// runs 20-25% faster than in every other round (measured here on a ResNet-14 at batch 1: 0.47 ms once
// against 0.56-0.63), and the lowest of the rounds took that figure.
import type { LayerRank } from '../factorize/rankPlan';
import { rewriteModel } from '../factorize/rewriteModel';
import type { LayerAnalysis, ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx, inlineExternalData } from '../onnx/writeOnnx';
import { randomFactors } from './layerBenchModels';
import { latencyAtRank, type LatencyTable } from './latencyTable';
import { timeKernels, timeModel, type TimedInput, type TimingSettings } from './timeSession';
import { layerMark, untouchedInContext } from './untouchedInContext';
import { untouchedPart } from './untouchedPart';
import { lowerMedian } from './lowerMedian';

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
  /** The lowest CPU share among the kept timings: below minCpuShare another process held a core during one of them. */
  readonly cpuShare: number;
}

/** One timing: its figure and the CPU share of its window (see Timing). */
export interface SharedTiming {
  readonly ms: number;
  readonly cpuShare: number;
}

/** Predicts from `table` (entries by `layerKeys`) and measures both models on this machine in `rounds` interleaved rounds (see the file comment). */
export async function checkLatency(model: OnnxModel, analysis: ModelAnalysis, table: LatencyTable, layerKeys: Readonly<Record<string, string>>, timing: TimingSettings, ranks?: Readonly<Record<string, LayerRank>>, rounds = 5): Promise<LatencyCheck> {
  const layers = analysis.layers.filter((l) => l.compressible && layerKeys[l.name] && table.layers[layerKeys[l.name] ?? '']);
  const inputs: TimedInput[] = analysis.model.inputs.map((i) => ({ name: i.name, dims: i.shape.map((d) => (typeof d === 'number' ? d : analysis.model.batch)), elemType: i.elemType }));
  const inContext = untouchedInContext(model, layers);
  const originalBytes = encodeOnnx(inlineExternalData(model.proto, model.constants));
  const compressedBytes = ranks ? compressedModel(model, layers, ranks) : undefined;
  const wall = async (bytes: Uint8Array): Promise<SharedTiming> => {
    // windows of at least 200 ms: this machine's speed drifts by 10-30% within seconds, and a short window caught one moment
    const timed = await timeModel(bytes, inputs, { ...timing, minTotalMs: Math.max(timing.minTotalMs ?? 0, 200) });
    return { ms: timed.medianMs, cpuShare: timed.cpuShare };
  };
  const kept = await medianOfRounds(rounds, [
    () => untouchedKernelTiming(model, layers, inputs, timing, inContext),
    () => wall(originalBytes),
    ...(compressedBytes ? [() => wall(compressedBytes)] : []),
  ]);
  const [untouchedKernelMs = 0, originalMs = 0, compressedMs = 0] = kept.map((t) => t.ms);
  const cpuShare = Math.min(...kept.map((t) => t.cpuShare));
  // The untouched part's own compute, plus one run's fixed cost (the table's call overhead).
  const untouchedMs = untouchedKernelMs + table.callOverheadMs;
  const entryOf = (name: string) => table.layers[layerKeys[name] ?? ''];
  const predict = (rankOf: (name: string) => LayerRank): number =>
    untouchedMs + layers.reduce((sum, l) => {
      const entry = entryOf(l.name);
      const rank = rankOf(l.name);
      const ms = !entry ? 0 : rank === 'keep' ? entry.originalMs : latencyAtRank(entry, rank);
      return sum + ms;
    }, 0);
  const compare = (predictedMs: number, measuredMs: number): LatencyComparison => ({ predictedMs, measuredMs, errorPct: (100 * (predictedMs - measuredMs)) / measuredMs });
  const original = compare(predict(() => 'keep'), originalMs);
  if (!ranks) return { original, untouchedMs, batch: analysis.model.batch, cpuShare };
  const compressed = compare(predict((name) => ranks[name] ?? 'keep'), compressedMs);
  return { original, compressed, untouchedMs, batch: analysis.model.batch, cpuShare };
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

/** Runs every timing once per round (at least one), in turn, and keeps each one's median result (the lower middle one of an even count) with that result's CPU share. */
export async function medianOfRounds(rounds: number, timings: readonly (() => Promise<SharedTiming>)[]): Promise<SharedTiming[]> {
  const results: SharedTiming[][] = timings.map(() => []);
  for (let round = 0; round < Math.max(1, rounds); round++) {
    for (const [i, time] of timings.entries()) results[i]?.push(await time());
  }
  return results.map((list) => lowerMedian(list, (t) => t.ms) ?? { ms: Infinity, cpuShare: 0 });
}
