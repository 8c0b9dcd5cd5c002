// The latency model a search allocates against: per-layer entries of a latency table (measured on
// this machine, a table file measured elsewhere, or estimated from an analytic profile) plus the cost
// of the untouched part of the model, with a label saying where the numbers come from.
import * as os from 'node:os';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import type { LayerRank } from '../factorize/rankPlan';
import type { ModelAnalysis } from '../graph/analyzeModel';
import { analyticProfiles, findProfile } from '../hardware/analyticProfiles';
import { buildLatencyTable, busyTableNote } from '../hardware/buildLatencyTable';
import { fingerprintKey, localFingerprint } from '../hardware/deviceFingerprint';
import { estimateLatencyTable } from '../hardware/estimateLatencyTable';
import { latencyAtRank, layerKey, readLatencyTable, type LatencyTable, type LayerLatency } from '../hardware/latencyTable';
import { untouchedKernelTiming } from '../hardware/latencyCheck';
import { medianOfRounds, wholeModelRounds, type TimedInput, type TimingSettings } from '../hardware/timeSession';
import type { OnnxModel } from '../onnx/onnxModel';

/** Where a predicted latency comes from: a table measured on a device, or an analytic estimate. */
export type LatencyKind = 'measured-table' | 'estimated';

/** The latency model of one search. */
export interface SearchLatency {
  /** The target as given: 'this-machine', a profile id or a table file. */
  readonly target: string;
  readonly table: LatencyTable;
  /** Layer name -> key into table.layers. */
  readonly layerKeys: Readonly<Record<string, string>>;
  readonly kind: LatencyKind;
  /** Latency of everything but the compressible layers, ms (0 where it is not modelled, see notes). */
  readonly untouchedMs: number;
  readonly notes: readonly string[];
}

/** Settings of resolving a target. */
export interface LatencySettings {
  readonly threads?: number;
  readonly granularity?: number | undefined;
  /** Latency cache folder (null: no cache); see buildLatencyTable. */
  readonly cacheDir?: string | null;
}

/** The shipped target names besides a table file. */
export const searchTargets = ['this-machine', ...analyticProfiles.map((p) => p.id)] as const;

/** Resolves a target into a latency model for `analysis` (measuring on this machine when asked). */
export async function resolveSearchLatency(model: OnnxModel, analysis: ModelAnalysis, target: string, settings: LatencySettings = {}, cancel: CancelSignal = neverCancelled, progress: (message: string) => void = () => undefined): Promise<SearchLatency> {
  const threads = settings.threads ?? os.cpus().length;
  if (target === 'this-machine') {
    const built = await buildLatencyTable(model, analysis, { threads, granularity: settings.granularity, ...(settings.cacheDir === undefined ? {} : { cacheDir: settings.cacheDir }) }, cancel, (message) => progress(message));
    cancel.throwIfCancelled();
    progress('timing the untouched part of the model');
    const untouchedMs = await measureUntouchedMs(model, analysis, built.table, built.layerKeys, { threads, provider: 'cpu' });
    const busy = busyTableNote(built);
    return { target, table: built.table, layerKeys: built.layerKeys, kind: 'measured-table', untouchedMs, notes: [`latency: sum of this machine's measured table entries (${built.measuredLayers} layer shapes measured now, ${built.cachedLayers} cached) + the measured untouched part`, ...(busy ? [`latency: ${busy}`] : [])] };
  }
  const profile = findProfile(target);
  if (profile) {
    const { table, layerKeys } = estimateLatencyTable(model, analysis, profile, settings.granularity);
    return { target, table, layerKeys, kind: 'estimated', untouchedMs: 0, notes: [`latency: estimated from the analytic profile '${profile.name}' for the compressible layers only (the untouched part is not modelled and counts as 0)`] };
  }
  if (!target.endsWith('.json')) throw new HalocError('BAD_ARGUMENT', `unknown --target '${target}'; give ${searchTargets.join(', ')} or a latency table file (.json)`);
  return tableFileLatency(model, analysis, target);
}

/** A table file measured elsewhere (or here): the untouched part is measured only when it was made on this setup. */
async function tableFileLatency(model: OnnxModel, analysis: ModelAnalysis, file: string): Promise<SearchLatency> {
  const table = readLatencyTable(file);
  const layerKeys = Object.fromEntries(analysis.layers.filter((l) => l.compressible).map((l) => [l.name, layerKey(model, l)]));
  const missing = Object.entries(layerKeys).filter(([, key]) => !table.layers[key]).map(([name]) => name);
  if (missing.length > 0) throw new HalocError('BAD_ARGUMENT', `${file}: no entry for ${missing.length} layer(s) of ${analysis.model.name}, e.g. '${missing[0]}'; measure the table for this model (and batch) with haloc profile`);
  const kind: LatencyKind = table.kind === 'estimated' ? 'estimated' : 'measured-table';
  const here = table.fingerprint !== undefined && fingerprintKey(table.fingerprint) === fingerprintKey(localFingerprint(table.fingerprint.provider, table.fingerprint.threads, analysis.model.batch));
  if (kind === 'measured-table' && here && table.fingerprint) {
    const untouchedMs = await measureUntouchedMs(model, analysis, table, layerKeys, { threads: table.fingerprint.threads, provider: table.fingerprint.provider });
    return { target: file, table, layerKeys, kind, untouchedMs, notes: [`latency: entries of ${file} (measured on this machine) + the measured untouched part`] };
  }
  return { target: file, table, layerKeys, kind, untouchedMs: table.callOverheadMs, notes: [`latency: entries of ${file} (${table.source}); the untouched part is not modelled for another device and counts as the table's call overhead only`] };
}

/** The untouched part's kernel time plus one run's fixed cost, as latencyCheck predicts it (timed in the model, the median of as many rounds, each a fresh session). */
export async function measureUntouchedMs(model: OnnxModel, analysis: ModelAnalysis, table: LatencyTable, layerKeys: Readonly<Record<string, string>>, timing: TimingSettings): Promise<number> {
  const layers = analysis.layers.filter((l) => l.compressible && table.layers[layerKeys[l.name] ?? '']);
  const inputs: TimedInput[] = analysis.model.inputs.map((i) => ({ name: i.name, dims: i.shape.map((d) => (typeof d === 'number' ? d : analysis.model.batch)), elemType: i.elemType }));
  const [untouched] = await medianOfRounds(wholeModelRounds, [() => untouchedKernelTiming(model, layers, inputs, timing)]);
  return (untouched?.ms ?? 0) + table.callOverheadMs;
}

/** The table entry of a layer, or a HalocError naming it. */
export function entryOf(latency: SearchLatency, layerName: string): LayerLatency {
  const entry = latency.table.layers[latency.layerKeys[layerName] ?? ''];
  if (!entry) throw new HalocError('BAD_ARGUMENT', `the latency table of target '${latency.target}' has no entry for layer '${layerName}'`);
  return entry;
}

/** Predicted latency of one layer at a setting (ms). */
export function layerLatencyMs(entry: LayerLatency, rank: LayerRank): number {
  return rank === 'keep' ? entry.originalMs : latencyAtRank(entry, rank);
}
