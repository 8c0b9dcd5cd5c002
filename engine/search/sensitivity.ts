// Per-layer error weights: how much of a layer's relative output error reaches the logits. Each layer
// is factorized alone (bias-corrected) at a few probe ranks, from a small error up to its smallest
// candidate rank, and the relative change of the logits on calibration images is measured. Its gain
// g(e) = logits error / layer error is interpolated between the probes (in log e), so that the
// prediction holds far from the linear regime too (a layer that is harmless at 20% error can wreck
// the logits at 80%). To first order independent layer errors add up in the logits as variances, so
// the allocator minimises sum_l (g_l(e) e)^2, the predicted squared relative logits error.
import { neverCancelled, type CancelSignal } from '../cancellation';
import type { OnnxModel } from '../onnx/onnxModel';
import type { LayerErrors } from './measureLayerErrors';
import { compareLogits, logitsOn, type EvalSet } from './pointEvaluation';
import { buildPointModel, type ShiftLookup } from './pointModel';
import type { FactorCache, SearchLayer } from './searchLayers';

/** Relative layer errors the probes aim at; the layer's largest candidate error is always probed too. */
export const probeLevels: readonly number[] = [0.1, 0.3];

/** Below this relative error a layer's output is considered unchanged (exactly low rank). */
const negligibleError = 1e-3;

/** One measured probe. */
export interface Probe {
  readonly rank: number;
  readonly layerError: number;
  readonly logitsError: number;
}

/** A layer's measured sensitivity. */
export interface LayerSensitivity {
  readonly layer: string;
  /** Ascending by layer error; empty when no candidate rank changes the layer's output. */
  readonly probes: readonly Probe[];
  /** The gain of layers without probes: the median gain of the others. */
  readonly fallbackGain: number;
}

/** Measures every layer's probes on `set` against the original logits `reference`. */
export async function measureSensitivities(model: OnnxModel, layers: readonly SearchLayer[], errors: ReadonlyMap<string, LayerErrors>, set: EvalSet, reference: { logits: Float32Array; classes: number }, factors: FactorCache, shiftOf: ShiftLookup, run: { batchSize: number; dropLast: boolean; threads?: number }, cancel: CancelSignal = neverCancelled, progress: (fraction: number) => void = () => undefined): Promise<LayerSensitivity[]> {
  const measured: Probe[][] = [];
  for (const [index, layer] of layers.entries()) {
    const probes: Probe[] = [];
    for (const probe of probeRanks(layer, errors.get(layer.layer.name))) {
      cancel.throwIfCancelled();
      progress((index + probes.length / 3) / layers.length);
      const { logits } = await logitsOn({ proto: await buildPointModel(model, layers, { [layer.layer.name]: probe.rank }, factors, shiftOf), constants: model.constants }, set, { ...run, cancel });
      probes.push({ ...probe, logitsError: compareLogits(logits, reference.logits, reference.classes, undefined).logitsError });
    }
    measured.push(probes.sort((a, b) => a.layerError - b.layerError));
  }
  const gains = measured.flat().map((p) => p.logitsError / p.layerError).sort((a, b) => a - b);
  const fallbackGain = gains.length > 0 ? (gains[gains.length >> 1] ?? 1) : 1;
  return layers.map((l, i) => ({ layer: l.layer.name, probes: measured[i] ?? [], fallbackGain }));
}

/** Predicted relative logits error of the layer alone at relative output error `error`. */
export function predictedLayerEffect(sensitivity: LayerSensitivity, error: number): number {
  const probes = sensitivity.probes;
  const first = probes[0];
  const last = probes[probes.length - 1];
  if (!first || !last) return sensitivity.fallbackGain * error;
  const gain = (p: Probe): number => p.logitsError / p.layerError;
  if (error <= first.layerError) return gain(first) * error;
  if (error >= last.layerError) return gain(last) * error;
  const upper = probes.findIndex((p) => p.layerError >= error);
  const a = probes[upper - 1] ?? first;
  const b = probes[upper] ?? last;
  const t = Math.log(error / a.layerError) / Math.log(b.layerError / a.layerError);
  return (gain(a) + t * (gain(b) - gain(a))) * error;
}

/** The gain at the probe nearest 20% error, for reports (the fallback when there is none). */
export function typicalGain(sensitivity: LayerSensitivity): number {
  const nearest = sensitivity.probes.reduce<Probe | undefined>((best, p) => (!best || Math.abs(Math.log(p.layerError / 0.2)) < Math.abs(Math.log(best.layerError / 0.2)) ? p : best), undefined);
  return nearest ? nearest.logitsError / nearest.layerError : sensitivity.fallbackGain;
}

/** Candidate ranks whose errors are nearest the probe levels (log scale), plus the one with the largest error. */
function probeRanks(layer: SearchLayer, errors: LayerErrors | undefined): { rank: number; layerError: number }[] {
  const changing = layer.candidates.flatMap((rank) => {
    const k = errors?.ranks.indexOf(rank) ?? -1;
    const layerError = k >= 0 ? (errors?.relError[k] ?? 0) : 0;
    return layerError >= negligibleError ? [{ rank, layerError }] : [];
  });
  if (changing.length === 0) return [];
  const nearest = (level: number): { rank: number; layerError: number } => changing.reduce((best, c) => (Math.abs(Math.log(c.layerError / level)) < Math.abs(Math.log(best.layerError / level)) ? c : best));
  const largest = changing.reduce((best, c) => (c.layerError > best.layerError ? c : best));
  return [...new Set([...probeLevels.map(nearest), largest])];
}
