// Builds the latency table of a model on this machine: the call overhead, the device's rank step
// (a fine sweep of one representative layer), then every compressible layer's original latency and
// its rewrite's latency at the candidate ranks, in three passes over all layers, keeping each figure's
// median timing (a busy moment of another process inflates a whole short timing, and now and then a
// whole pass runs 20-30% faster: the median is neither; an entry caught in one was frozen into the
// cache and reused by every later run). Entries are cached on disk per device
// fingerprint and layer shape, so a second run on the same machine measures nothing again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { neverCancelled, type CancelSignal } from '../cancellation';
import type { LayerAnalysis, ModelAnalysis } from '../graph/analyzeModel';
import { GraphBuilder } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx } from '../onnx/writeOnnx';
import { fingerprintKey, localFingerprint, onnxruntimeVersion, type DeviceFingerprint, type ExecutionProvider } from './deviceFingerprint';
import { candidateRanks, detectGranularity } from './granularity';
import { layerBenchModels } from './layerBenchModels';
import { medianEntry, layerKey, readLatencyTable, writeLatencyTable, type LatencyTable, type LayerLatency } from './latencyTable';
import { minCpuShare, timeKernels, timeModel, type SharedTiming, type TimedInput, type TimingSettings } from './timeSession';

/** Settings of a table build. */
export interface TableSettings {
  readonly provider?: ExecutionProvider;
  /** Intra-op threads (default: the number of cores). */
  readonly threads?: number;
  readonly batch?: number;
  /** Rank step override (design principle 1); default: detected. */
  readonly granularity?: number | undefined;
  /** At most this many ranks per layer (the step grows in multiples of the granularity). */
  readonly maxRanksPerLayer?: number;
  /** Cache folder; null disables the cache. Default `$HALOC_CACHE_DIR` or ~/.cache/haloc/latency. */
  readonly cacheDir?: string | null;
  /** Timings of every entry, taken in separate passes over the layers; the median is kept (default 3). */
  readonly passes?: number;
  /** Entries whose median pass had a lower CPU share are reported busy and not cached (default minCpuShare; 0 caches all). */
  readonly busyCpuShare?: number;
}

/** A built table and how much of it was measured now. */
export interface TableBuild {
  readonly table: LatencyTable;
  /** Layer name -> key into table.layers. */
  readonly layerKeys: Readonly<Record<string, string>>;
  readonly measuredLayers: number;
  readonly cachedLayers: number;
  readonly cacheFile: string | null;
  /**
   * Layers (names) most of whose timing passes ran while other processes held the cores (CPU share below
   * minCpuShare): their figures may be too high, so they are not cached and the next build times them again.
   */
  readonly busyLayers: readonly string[];
  /** The lowest CPU share among the busy layers' entries (1 when none). */
  readonly lowestCpuShare: number;
}

/**
 * The version of the way entries are measured, kept in every entry: a cached entry of another version
 * is measured again. 2: two passes (the lowest kept), windows retaken while another process held a
 * core, the profiler's cost calibrated in each session, convolutions fed by a producer (version 1
 * entries came out 5-25% off in a network). 3: the median of three passes of 10 ms windows (with the
 * lowest of two, three tables of one ResNet-14 at batch 32, built minutes apart, summed its 50%-rank
 * layers to 8.7-9.8 ms, and the lowest of four to 6.8-7.7; the median of three: 9.5-9.9).
 */
export const measuringMethod = 3;

/** The default cache folder. */
export function defaultCacheDir(): string {
  return process.env.HALOC_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'haloc', 'latency');
}

/** Builds (or completes from the cache) the table of every compressible layer of a model. */
export async function buildLatencyTable(model: OnnxModel, analysis: ModelAnalysis, settings: TableSettings = {}, cancel: CancelSignal = neverCancelled, progress: (message: string, fraction?: number) => void = () => undefined): Promise<TableBuild> {
  const threads = settings.threads ?? os.cpus().length;
  const fingerprint = localFingerprint(settings.provider ?? 'cpu', threads, analysis.model.batch);
  const timing: TimingSettings = { threads, provider: fingerprint.provider };
  const cacheDir = settings.cacheDir === undefined ? defaultCacheDir() : settings.cacheDir;
  const cacheFile = cacheDir ? path.join(cacheDir, `${fingerprintKey(fingerprint)}.json`) : null;
  const cached = cacheFile ? readCache(cacheFile) : undefined;
  const layers = analysis.layers.filter((l) => l.compressible);
  const keys = Object.fromEntries(layers.map((l) => [l.name, layerKey(model, l)]));
  const entries: Record<string, LayerLatency> = { ...(cached?.layers ?? {}) };
  const callOverheadMs = cached?.callOverheadMs ?? (await measureCallOverhead(timing));
  // The device's step is detected once and kept in the cache; a user's override is used, never saved as it.
  const detected = cached?.deviceGranularity ?? (settings.granularity === undefined ? await sweepGranularity(model, layers, timing) : undefined);
  const granularity = settings.granularity ?? detected ?? 1;
  const maxRanks = settings.maxRanksPerLayer ?? 24;
  const unique = [...new Map(layers.map((l) => [keys[l.name] ?? '', l])).entries()];
  const pending = unique.filter(([key]) => {
    const entry = entries[key];
    return !(entry && entry.granularity === granularity && entry.rankLimit === maxRanks && entry.method === measuringMethod);
  });
  const passes = Math.max(1, settings.passes ?? 3);
  const timings = new Map<string, LayerLatency[]>();
  for (let pass = 0; pass < passes; pass++) {
    for (const [index, [key, layer]] of pending.entries()) {
      cancel.throwIfCancelled();
      progress(`timing ${layer.name}${passes > 1 ? ` (pass ${pass + 1} of ${passes})` : ''}`, (pass * pending.length + index) / (passes * pending.length));
      const timed = await measureLayer(model, layer, granularity, maxRanks, timing, cancel);
      timings.set(key, [...(timings.get(key) ?? []), timed]);
    }
  }
  const fresh = new Map([...timings].map(([key, list]) => [key, medianEntry(list)]));
  for (const [key, entry] of fresh) entries[key] = entry;
  const measured = pending.length;
  const busyCpuShare = settings.busyCpuShare ?? minCpuShare;
  const busy = [...fresh].filter(([, entry]) => (entry.cpuShare ?? 1) < busyCpuShare);
  const table: LatencyTable = {
    format: 'haloc-latency-table',
    version: 1,
    kind: 'measured',
    source: `measured with onnxruntime-node ${onnxruntimeVersion()} (${fingerprint.provider} execution provider, ${threads} threads, batch ${fingerprint.batch}) on ${fingerprint.cpuModel}`,
    fingerprint,
    createdAt: cached?.createdAt ?? new Date().toISOString(),
    callOverheadMs,
    granularity,
    ...(detected === undefined ? {} : { deviceGranularity: detected }),
    layers: entries,
  };
  const busyKeys = new Set(busy.map(([key]) => key));
  if (cacheFile && (measured > busy.length || !cached)) {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeLatencyTable(cacheFile, { ...table, layers: Object.fromEntries(Object.entries(entries).filter(([key]) => !busyKeys.has(key))) });
  }
  const busyLayers = layers.filter((l) => busyKeys.has(keys[l.name] ?? '')).map((l) => l.name);
  const lowestCpuShare = Math.min(1, ...busy.map(([, entry]) => entry.cpuShare ?? 1));
  return { table: { ...table, layers: Object.fromEntries(Object.values(keys).map((k) => [k, entries[k] as LayerLatency])) }, layerKeys: keys, measuredLayers: measured, cachedLayers: unique.length - measured, cacheFile, busyLayers, lowestCpuShare };
}

/** What a user is told when layers were timed while other processes held the cores; null when none were. */
export function busyTableNote(build: Pick<TableBuild, 'busyLayers' | 'lowestCpuShare'>): string | null {
  const count = build.busyLayers.length;
  if (count === 0) return null;
  return `${count} layer shape(s) (e.g. '${build.busyLayers[0]}') were timed while other processes held the cores (CPU share as low as ${(100 * build.lowestCpuShare).toFixed(0)}%): their latencies may be too high; they were not cached, so the next run times them again`;
}

function readCache(file: string): LatencyTable | undefined {
  try {
    return fs.existsSync(file) ? readLatencyTable(file) : undefined;
  } catch {
    return undefined; // a damaged cache is rebuilt
  }
}

/** Times one layer: the original and its rewrite at the candidate ranks. */
async function measureLayer(model: OnnxModel, layer: LayerAnalysis, granularity: number, maxRanks: number, timing: TimingSettings, cancel: CancelSignal): Promise<LayerLatency> {
  const bench = layerBenchModels(model, layer);
  const maxRank = layer.maxRank ?? 1;
  const all = candidateRanks(maxRank, granularity);
  const ranks = spread(all, maxRanks);
  const original = await timeEntry(bench.original, bench.inputs, timing);
  let cpuShare = original.cpuShare;
  const measured = [];
  for (const rank of ranks) {
    cancel.throwIfCancelled();
    const timed = await timeEntry(bench.atRank(rank), bench.inputs, timing);
    cpuShare = Math.min(cpuShare, timed.cpuShare);
    measured.push({ rank, ms: timed.ms });
  }
  return { op: layer.op, originalMs: original.ms, ranks: measured, granularity, rankLimit: maxRanks, method: measuringMethod, cpuShare: Number(cpuShare.toFixed(3)) };
}

/** One timing of an entry's benchmark model: its kernel time, in windows of 10 ms (not the default 40: each entry is timed in three passes, and a ResNet-50 table stays under two minutes, 89 s here). */
export async function timeEntry(bytes: Uint8Array, inputs: readonly TimedInput[], timing: TimingSettings): Promise<SharedTiming> {
  const timed = await timeKernels(bytes, inputs, { ...timing, minTotalMs: 10 });
  return { ms: timed.kernelMs, cpuShare: timed.cpuShare };
}

/** At most `count` values of a sorted list, evenly spread, always keeping the first and the last. */
export function spread(values: readonly number[], count: number): number[] {
  if (values.length <= count) return [...values];
  if (count <= 1) return values.slice(-1);
  return [...new Set(Array.from({ length: count }, (_, i) => values[Math.round((i * (values.length - 1)) / (count - 1))] ?? 0))];
}

/** Finds the device's rank step from every rank 1..64 of the layer with the most MACs among the wide ones. */
async function sweepGranularity(model: OnnxModel, layers: readonly LayerAnalysis[], timing: TimingSettings): Promise<number> {
  const wide = layers.filter((l) => (l.maxRank ?? 0) >= 48);
  const pool = wide.length > 0 ? wide : layers;
  const representative = [...pool].sort((a, b) => (b.macs ?? 0) - (a.macs ?? 0))[0];
  if (!representative) return 1;
  const bench = layerBenchModels(model, representative);
  const top = Math.min(64, representative.maxRank ?? 1);
  const curve: number[] = [];
  for (let rank = 1; rank <= top; rank++) curve.push((await timeKernels(bench.atRank(rank), bench.inputs, { ...timing, minRuns: 5, minTotalMs: 15 })).kernelMs);
  return detectGranularity(curve);
}

/** The cost of one run of an almost empty model (an Identity on one value), the lower of two timings. */
async function measureCallOverhead(timing: TimingSettings): Promise<number> {
  const builder = new GraphBuilder({ name: 'overhead', opset: 13 });
  builder.input('x', [1]);
  builder.node('Identity', ['x'], {}, { outputs: ['y'] });
  builder.output('y', [1]);
  const bytes = encodeOnnx(builder.build());
  const once = async (): Promise<number> => (await timeModel(bytes, [{ name: 'x', dims: [1] }], { ...timing, minRuns: 50, minTotalMs: 10 })).medianMs;
  return Math.min(await once(), await once());
}

/** The fingerprint a table was measured under, in words. */
export function describeFingerprint(fingerprint: DeviceFingerprint): string {
  return `${fingerprint.cpuModel}, ${fingerprint.cores} cores, onnxruntime ${fingerprint.onnxruntimeVersion}, ${fingerprint.provider}, ${fingerprint.threads} threads, batch ${fingerprint.batch}`;
}
