// Times onnxruntime sessions: fixed thread count, warm-up, then repeated runs until both a minimum
// count and a minimum time are reached; the median is the figure (robust on a shared, noisy machine).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { DataType } from '../onnx/dataType';
import { GraphBuilder } from '../onnx/graphBuilder';
import { encodeOnnx } from '../onnx/writeOnnx';
import { seededNormal } from '../random';
import type { ExecutionProvider } from './deviceFingerprint';

/** How long and how often to time. */
export interface TimingSettings {
  readonly threads: number;
  readonly provider: ExecutionProvider;
  readonly warmupRuns?: number;
  readonly minRuns?: number;
  /** Keep running until this much time was measured (default 40 ms). */
  readonly minTotalMs?: number;
  readonly maxRuns?: number;
}

/** The result of timing one model. */
export interface Timing {
  readonly medianMs: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  readonly runs: number;
}

/** A float input of a timed model. */
export interface TimedInput {
  readonly name: string;
  readonly dims: readonly number[];
  readonly elemType?: number;
}

let ort: typeof Ort | undefined;
function loadOrt(): typeof Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ort ??= require('onnxruntime-node') as typeof Ort;
  return ort;
}

/** Session options for timing (sequential, fixed intra-op threads, full optimisation). */
export function timingSessionOptions(settings: TimingSettings): Ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: settings.provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    logSeverityLevel: 4,
  };
}

/** Seeded random feeds for the given inputs. */
export function randomFeeds(inputs: readonly TimedInput[], seed = 7): Record<string, Ort.Tensor> {
  const runtime = loadOrt();
  const feeds: Record<string, Ort.Tensor> = {};
  inputs.forEach((input, i) => {
    const count = input.dims.reduce((p, d) => p * d, 1);
    feeds[input.name] = input.elemType === DataType.INT64
      ? new runtime.Tensor('int64', new BigInt64Array(count), [...input.dims])
      : new runtime.Tensor('float32', seededNormal(count, seed + i), [...input.dims]);
  });
  return feeds;
}

/** Times one model given as ONNX bytes. */
export async function timeModel(bytes: Uint8Array, inputs: readonly TimedInput[], settings: TimingSettings): Promise<Timing> {
  const session = await loadOrt().InferenceSession.create(bytes, timingSessionOptions(settings));
  try {
    return await timeSession(session, randomFeeds(inputs), settings);
  } finally {
    await session.release();
  }
}

/** Times an open session on fixed feeds. */
export async function timeSession(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, settings: TimingSettings): Promise<Timing> {
  for (let i = 0; i < (settings.warmupRuns ?? 3); i++) await session.run(feeds);
  const samples: number[] = [];
  const minRuns = settings.minRuns ?? 7;
  const minTotalMs = settings.minTotalMs ?? 40;
  const maxRuns = settings.maxRuns ?? 500;
  let total = 0;
  while (samples.length < maxRuns && (samples.length < minRuns || total < minTotalMs)) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    samples.push(ms);
    total += ms;
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { medianMs: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9), runs: samples.length };
}

/** Kernel times of one model from onnxruntime's profiler: per node the median over the timed runs. */
export interface KernelTiming {
  /** Median wall time of a whole run. */
  readonly wallMs: number;
  /** Sum over nodes of each node's median kernel time less the profiler's own per-node cost, layout reorders excluded. */
  readonly kernelMs: number;
  readonly runs: number;
}

/** Copies onnxruntime adds at a model's borders for another device; a layer inside a network has none. */
const copyOps = new Set(['MemcpyToHost', 'MemcpyFromHost']);

/**
 * Times a model with onnxruntime's profiler on, so that the figure is the compute of its nodes: a
 * layer timed alone also pays for copying its input in and its output out, which a layer inside a
 * network does not (measured here: 3.2 ms alone against 0.9 ms in context for a 16-channel conv at
 * batch 32).
 */
export async function timeKernels(bytes: Uint8Array, inputs: readonly TimedInput[], settings: TimingSettings): Promise<KernelTiming> {
  const floorMs = await profilerFloorMs(settings);
  const raw = await profiledRun(bytes, inputs, settings);
  // A node never costs less than a twentieth of what the profiler recorded (no zero-time layers).
  return { wallMs: raw.wallMs, kernelMs: raw.nodeMedians.reduce((sum, ms) => sum + Math.max(ms - floorMs, ms / 20), 0), runs: raw.runs };
}

const floors = new Map<string, Promise<number>>();

/**
 * What the profiler itself adds to every node's recorded time (measured here: ~5 us per node, against
 * ~0.3 us per trivial node without it): the median kernel time of a chain of no-work nodes. It is
 * subtracted from every node, or small layers and the untouched part would look several times slower.
 */
export function profilerFloorMs(settings: TimingSettings): Promise<number> {
  const key = `${settings.provider}:${settings.threads}`;
  let floor = floors.get(key);
  if (!floor) {
    const builder = new GraphBuilder({ name: 'profiler_floor', opset: 13 });
    let tensor = builder.input('x', [1, 16]);
    for (let i = 0; i < 20; i++) tensor = builder.node(i % 2 ? 'Relu' : 'Neg', [tensor], {}, i === 19 ? { outputs: ['y'] } : {})[0] ?? '';
    builder.output('y', [1, 16]);
    floor = profiledRun(encodeOnnx(builder.build()), [{ name: 'x', dims: [1, 16] }], { ...settings, minRuns: 100 }).then((r) => median(r.nodeMedians));
    floors.set(key, floor);
  }
  return floor;
}

async function profiledRun(bytes: Uint8Array, inputs: readonly TimedInput[], settings: TimingSettings): Promise<{ wallMs: number; nodeMedians: number[]; runs: number }> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-profile-'));
  try {
    const session = await loadOrt().InferenceSession.create(bytes, { ...timingSessionOptions(settings), enableProfiling: true, profileFilePrefix: path.join(folder, 'run') });
    let wall: Timing;
    try {
      wall = await timeSession(session, randomFeeds(inputs), settings);
      (session as unknown as { endProfiling?: () => void }).endProfiling?.();
    } finally {
      await session.release();
    }
    const file = fs.readdirSync(folder).find((f) => f.endsWith('.json'));
    const events = file ? (JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')) as ProfileEvent[]) : [];
    return { wallMs: wall.medianMs, nodeMedians: nodeMedians(events, settings.warmupRuns ?? 3), runs: wall.runs };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

/** Per node, the median kernel time in ms (skipping warm-up runs). */
function nodeMedians(events: readonly ProfileEvent[], warmupRuns: number): number[] {
  const byNode = new Map<string, number[]>();
  const opOf = new Map<string, string>();
  for (const event of events) {
    if (event.cat !== 'Node' || !event.name?.endsWith('_kernel_time') || copyOps.has(event.args?.op_name ?? '')) continue;
    const list = byNode.get(event.name) ?? [];
    list.push(event.dur ?? 0);
    byNode.set(event.name, list);
    opOf.set(event.name, event.args?.op_name ?? '');
  }
  // The layout conversion into the blocked (NCHWc) format at the model's input and back at its output
  // exist only because the layer runs alone; conversions between the layer's own nodes stay counted.
  const order = [...byNode.keys()];
  const border = new Set([order[0], order[order.length - 1]].filter((name) => name !== undefined && /^Reorder(Input|Output)$/.test(opOf.get(name) ?? '')));
  return order.filter((name) => !border.has(name)).map((name) => median((byNode.get(name) ?? []).slice(Math.min(warmupRuns, (byNode.get(name)?.length ?? 1) - 1))) / 1000);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}
