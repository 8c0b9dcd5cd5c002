// Times onnxruntime sessions: fixed thread count, warm-up, then a window of repeated runs until both
// a minimum count and a minimum time are reached; the median is the figure. On a shared machine another
// process that holds a core for a while makes every run of a window 1.5-6x slower (measured here): a
// window in which this process used less than `minCpuShare` of its threads' time is taken again, up
// to `maxWindows` times, and the window with the largest share is kept.
// Also the kernel times of a model's nodes from onnxruntime's profiler, less what the profiler itself
// adds to each node: every profiled model carries a short chain of no-work calibration nodes on an
// input of its own, so that cost is measured in the same session and at the same moment as the nodes
// it is taken off (a single per-process figure was off by 1-3 us a node between processes and on a
// process's first session, which at batch 1, about 100 nodes in 0.6 ms, is 15-50% of a whole model).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { DataType } from '../onnx/dataType';
import { GraphBuilder, valueInfo } from '../onnx/graphBuilder';
import { onnx } from '../onnx/proto';
import { encodeOnnx } from '../onnx/writeOnnx';
import { createSession } from '../evaluate/inferenceSession';
import type { ExecutionProvider } from './deviceFingerprint';
import { lowerMedian } from './lowerMedian';

/** How long and how often to time. */
export interface TimingSettings {
  readonly threads: number;
  readonly provider: ExecutionProvider;
  readonly warmupRuns?: number;
  readonly minRuns?: number;
  /** Keep running until this much time was measured (default 40 ms). */
  readonly minTotalMs?: number;
  readonly maxRuns?: number;
  /** Windows tried until one had the cores to itself (default 3; 1 on a GPU, where threads wait). */
  readonly maxWindows?: number;
}

/** The result of timing one model. */
export interface Timing {
  readonly medianMs: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  readonly runs: number;
  /** Process CPU time over (wall time x threads) in the kept window: about 1 when no other process took a core. */
  readonly cpuShare: number;
  /** The kept window's runs, as indices among all runs of the session (warm-up runs first). */
  readonly firstRun: number;
  readonly windows: number;
}

/** Below this CPU share another process held one of the timed cores for part of the window (quiet: 0.95-1.0, busy: 0.25-0.6 here). */
export const minCpuShare = 0.85;

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

/**
 * `count` seeded pseudo-random values, uniform in [-scale, scale) (xorshift32), for inputs and weights
 * of timed models: half of a table build went into normal samples (Box-Muller) for values that do not
 * change the latency.
 */
export function benchValues(count: number, seed: number, scale = 1): Float32Array {
  const values = new Float32Array(count);
  let state = Math.imul(seed, 0x9e3779b9) || 1;
  const factor = (2 * scale) / 4294967296;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = (state >>> 0) * factor - scale;
  }
  return values;
}

/** Seeded random feeds for the given inputs. */
export function randomFeeds(inputs: readonly TimedInput[], seed = 7): Record<string, Ort.Tensor> {
  const runtime = loadOrt();
  const feeds: Record<string, Ort.Tensor> = {};
  inputs.forEach((input, i) => {
    const count = input.dims.reduce((p, d) => p * d, 1);
    feeds[input.name] = input.elemType === DataType.INT64
      ? new runtime.Tensor('int64', new BigInt64Array(count), [...input.dims])
      : new runtime.Tensor('float32', benchValues(count, seed + i), [...input.dims]);
  });
  return feeds;
}

/** Times one model given as ONNX bytes or a file, in a session of its own. */
export async function timeModel(model: Uint8Array | string, inputs: readonly TimedInput[], settings: TimingSettings): Promise<Timing> {
  const session = await createSession(model, timingSessionOptions(settings));
  try {
    return await timeSession(session, randomFeeds(inputs), settings);
  } finally {
    await session.release();
  }
}

/** One timing: its figure and the CPU share of its window (see Timing). */
export interface SharedTiming {
  readonly ms: number;
  readonly cpuShare: number;
}

/**
 * Rounds in which whole models are timed, each in a fresh session. Here a fresh session of one model
 * runs 10-30% slower than the usual now and then, for all its runs (forty sessions of a ResNet-14 at
 * batch 32, 100 ms each: 11.1-16.5 ms, median 12.1, while two windows of one session differed by 3-4%):
 * the median of five rounds was more than 7.5% off the median of all forty in about one draw in nine
 * (bootstrap), of nine in one in twenty, of one session in one in three.
 */
export const wholeModelRounds = 9;

/**
 * Times models given as ONNX bytes or files in rounds, each model once per round in a fresh session of its
 * own (see wholeModelRounds), so that a change in the machine's load falls on all of them alike and no
 * single session's speed decides: the median of each model's rounds, ms. Compare a compressed model
 * with its original this way, never with a time taken minutes earlier.
 */
export async function timeModelsInRounds(models: readonly (Uint8Array | string)[], inputs: readonly TimedInput[], settings: TimingSettings, rounds = wholeModelRounds, cancel: CancelSignal = neverCancelled): Promise<number[]> {
  const timings = models.map((model) => () => {
    cancel.throwIfCancelled();
    return wholeModelTiming(model, inputs, settings);
  });
  return (await medianOfRounds(rounds, timings)).map((t) => t.ms);
}

/** One round of a whole model: timeModel's median and CPU share. */
export async function wholeModelTiming(model: Uint8Array | string, inputs: readonly TimedInput[], settings: TimingSettings): Promise<SharedTiming> {
  const timed = await timeModel(model, inputs, settings);
  return { ms: timed.medianMs, cpuShare: timed.cpuShare };
}

/** Runs every timing once per round (at least one), in turn, and keeps each one's median result (the lower middle one of an even count) with that result's CPU share. */
export async function medianOfRounds(rounds: number, timings: readonly (() => Promise<SharedTiming>)[]): Promise<SharedTiming[]> {
  const results: SharedTiming[][] = timings.map(() => []);
  for (let round = 0; round < Math.max(1, rounds); round++) {
    for (const [i, time] of timings.entries()) results[i]?.push(await time());
  }
  return results.map((list) => lowerMedian(list, (t) => t.ms) ?? { ms: Infinity, cpuShare: 0 });
}

/** Times an open session on fixed feeds: warm-up, then windows until one had the cores (see minCpuShare). */
export async function timeSession(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, settings: TimingSettings): Promise<Timing> {
  const warmupRuns = settings.warmupRuns ?? 3;
  for (let i = 0; i < warmupRuns; i++) await session.run(feeds);
  const maxWindows = settings.provider === 'cuda' ? 1 : Math.max(1, settings.maxWindows ?? 3);
  const cores = Math.max(1, Math.min(settings.threads, os.cpus().length));
  let best = { ...(await timeWindow(session, feeds, settings, cores)), firstRun: warmupRuns };
  let nextRun = warmupRuns + best.runs;
  let windows = 1;
  while (best.cpuShare < minCpuShare && windows < maxWindows) {
    const timing = { ...(await timeWindow(session, feeds, settings, cores)), firstRun: nextRun };
    nextRun += timing.runs;
    windows++;
    if (timing.cpuShare > best.cpuShare) best = timing;
  }
  return { ...best, windows };
}

async function timeWindow(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, settings: TimingSettings, cores: number): Promise<Omit<Timing, 'firstRun' | 'windows'>> {
  const samples: number[] = [];
  const minRuns = settings.minRuns ?? 7;
  const minTotalMs = settings.minTotalMs ?? 40;
  const maxRuns = settings.maxRuns ?? 500;
  let total = 0;
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  while (samples.length < maxRuns && (samples.length < minRuns || total < minTotalMs)) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    samples.push(ms);
    total += ms;
  }
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { medianMs: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9), runs: samples.length, cpuShare: (cpu.user + cpu.system) / 1000 / (wallMs * cores) };
}

/** Kernel times of one model. */
export interface KernelTiming {
  /** Median wall time of a profiled run (calibration nodes included). */
  readonly wallMs: number;
  /** The kept window's CPU share (see Timing). */
  readonly cpuShare: number;
  /** Sum over the model's nodes of each node's cost in an unprofiled run, layout reorders at its borders excluded. */
  readonly kernelMs: number;
  readonly runs: number;
  /** What the profiler added to each node's recorded time in this session. */
  readonly profilerCostMs: number;
  /** Nodes left out by the scope's `leaveOut`. */
  readonly leftOutNodes: number;
}

/** What timeKernels counts; by default a layer's benchmark model, the reorders at its borders dropped. */
export interface KernelScope {
  /** Leave out every node whose name contains this (a whole model's layers, see untouchedInContext). */
  readonly leaveOut?: string;
  /** Count the layout reorders at the model's input and output (those of a whole model are real). */
  readonly keepBorders?: boolean;
}

/** Name prefix of the calibration chain's nodes and values. */
export const calibrationPrefix = 'haloc_calibration_';
/** Name prefix of a benchmark model's producer (see layerBenchModels), whose nodes are not counted. */
export const producerPrefix = 'haloc_producer_';
const calibrationLength = 12;
const calibrationDims = [1, 16];

/** Copies onnxruntime adds at a model's borders for another device; a layer inside a network has none. */
const copyOps = new Set(['MemcpyToHost', 'MemcpyFromHost']);

/** `model` plus a chain of no-work nodes (Neg, Relu alternating) from an input of its own to an output of its own. */
export function withCalibrationChain(model: onnx.IModelProto): onnx.IModelProto {
  const graph = model.graph ?? {};
  const nodes: onnx.INodeProto[] = [];
  let value = `${calibrationPrefix}x`;
  for (let i = 0; i < calibrationLength; i++) {
    const output = i === calibrationLength - 1 ? `${calibrationPrefix}y` : `${calibrationPrefix}v${i}`;
    nodes.push({ name: `${calibrationPrefix}${i}`, opType: i % 2 ? 'Relu' : 'Neg', input: [value], output: [output] });
    value = output;
  }
  return {
    ...model,
    graph: {
      ...graph,
      node: [...(graph.node ?? []), ...nodes],
      input: [...(graph.input ?? []), valueInfo(`${calibrationPrefix}x`, DataType.FLOAT, calibrationDims)],
      output: [...(graph.output ?? []), valueInfo(`${calibrationPrefix}y`, DataType.FLOAT, calibrationDims)],
    },
  };
}

/**
 * Times a model with onnxruntime's profiler on, so that the figure is the compute of its nodes: a
 * layer timed alone also pays for copying its input in and its output out, which a layer inside a
 * network does not (measured here: 3.2 ms alone against 0.9 ms in context for a 16-channel conv at
 * batch 32).
 */
export async function timeKernels(model: Uint8Array | onnx.IModelProto, inputs: readonly TimedInput[], settings: TimingSettings, scope: KernelScope = {}): Promise<KernelTiming> {
  const plainMs = await plainNodeMs(settings);
  const proto = model instanceof Uint8Array ? onnx.ModelProto.decode(model) : model;
  const calibrated = encodeOnnx(withCalibrationChain(proto));
  const raw = await profiledRun(calibrated, [...inputs, { name: `${calibrationPrefix}x`, dims: calibrationDims }], settings);
  const profile = kernelSamples(raw.events, raw.timing.firstRun, raw.timing.firstRun + raw.timing.runs);
  const profilerCostMs = Math.max(0, interquartileMean(profile.calibration) / 1000 - plainMs);
  const { leaveOut } = scope;
  const counted = leaveOut ? profile.nodes.filter((n) => !n.name.includes(leaveOut)) : profile.nodes;
  const kernelMs = kernelSumMs(counted, profilerCostMs, scope.keepBorders ?? false);
  return { wallMs: raw.timing.medianMs, cpuShare: raw.timing.cpuShare, kernelMs, runs: raw.timing.runs, profilerCostMs, leftOutNodes: profile.nodes.length - counted.length };
}

/** One event of onnxruntime's profile file. */
export interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

/** A node's kernel-time samples (us) in a profile, one per run of the kept window. */
export interface NodeSamples {
  readonly name: string;
  readonly op: string;
  readonly samples: readonly number[];
}

/** The model's nodes in execution order (copies and producers excluded) and the calibration chain's samples, of runs fromRun..toRun - 1 (counting warm-ups). */
export function kernelSamples(events: readonly ProfileEvent[], fromRun: number, toRun: number): { nodes: NodeSamples[]; calibration: number[] } {
  const byNode = new Map<string, { op: string; samples: number[] }>();
  for (const event of events) {
    if (event.cat !== 'Node' || !event.name?.endsWith('_kernel_time') || copyOps.has(event.args?.op_name ?? '')) continue;
    const node = byNode.get(event.name) ?? { op: event.args?.op_name ?? '', samples: [] };
    node.samples.push(event.dur ?? 0);
    byNode.set(event.name, node);
  }
  const nodes: NodeSamples[] = [];
  const calibration: number[] = [];
  for (const [event, { op, samples }] of byNode) {
    const from = Math.max(0, Math.min(fromRun, samples.length - 1));
    const kept = samples.slice(from, Math.max(toRun, from + 1));
    const name = event.slice(0, -'_kernel_time'.length);
    if (name.startsWith(calibrationPrefix)) calibration.push(...kept);
    else if (!name.startsWith(producerPrefix)) nodes.push({ name, op, samples: kept });
  }
  return { nodes, calibration };
}

/**
 * The sum over nodes of each node's interquartile mean less the profiler's per-node cost (never less
 * than a twentieth of what was recorded). Unless `keepBorders`, the layout conversions into the blocked
 * (NCHWc) format at the model's input and back at its output are left out: they exist only because
 * the layer runs alone; conversions between the layer's own nodes stay counted.
 */
export function kernelSumMs(nodes: readonly NodeSamples[], profilerCostMs: number, keepBorders = false): number {
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  const border = new Set(keepBorders ? [] : [first, last].filter((n) => n !== undefined && /^Reorder(Input|Output)$/.test(n.op)));
  return nodes.filter((n) => !border.has(n)).reduce((sum, n) => {
    const ms = interquartileMean(n.samples) / 1000;
    return sum + Math.max(ms - profilerCostMs, ms / 20);
  }, 0);
}

/** The mean of the middle half of the values (robust to a few slow samples, finer than the profiler's 1 us steps). */
export function interquartileMean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const from = Math.floor(sorted.length / 4);
  const middle = sorted.slice(from, Math.max(from + 1, sorted.length - from));
  return middle.reduce((s, v) => s + v, 0) / middle.length;
}

const plainCosts = new Map<string, Promise<number>>();

/**
 * The cost of one calibration node in an unprofiled run (about 0.4 us here), added back to every node:
 * the wall-time slope between a chain of 1 and of 101 such nodes, the lower of two tries after a warm-up.
 */
export function plainNodeMs(settings: TimingSettings): Promise<number> {
  const key = `${settings.provider}:${settings.threads}`;
  let cost = plainCosts.get(key);
  if (!cost) {
    cost = (async () => {
      const [short, long] = [chainModel(1), chainModel(101)];
      const inputs = [{ name: 'x', dims: calibrationDims }];
      const time = async (bytes: Uint8Array): Promise<number> => (await timeModel(bytes, inputs, { ...settings, minRuns: 100, minTotalMs: 10 })).medianMs;
      await time(long);
      const slopes = [];
      for (let i = 0; i < 2; i++) slopes.push((await time(long)) - (await time(short)));
      return Math.max(0, Math.min(...slopes) / 100);
    })();
    plainCosts.set(key, cost);
  }
  return cost;
}

function chainModel(length: number): Uint8Array {
  const builder = new GraphBuilder({ name: 'calibration', opset: 13 });
  let tensor = builder.input('x', calibrationDims);
  for (let i = 0; i < length; i++) tensor = builder.node(i % 2 ? 'Relu' : 'Neg', [tensor], {}, i === length - 1 ? { outputs: ['y'] } : {})[0] ?? '';
  builder.output('y', calibrationDims);
  return encodeOnnx(builder.build());
}

async function profiledRun(bytes: Uint8Array, inputs: readonly TimedInput[], settings: TimingSettings): Promise<{ timing: Timing; events: ProfileEvent[] }> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-profile-'));
  try {
    const session = await loadOrt().InferenceSession.create(bytes, { ...timingSessionOptions(settings), enableProfiling: true, profileFilePrefix: path.join(folder, 'run') });
    let timing: Timing;
    try {
      timing = await timeSession(session, randomFeeds(inputs), settings);
      (session as unknown as { endProfiling?: () => void }).endProfiling?.();
    } finally {
      await session.release();
    }
    const file = fs.readdirSync(folder).find((f) => f.endsWith('.json'));
    const events = file ? (JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')) as ProfileEvent[]) : [];
    return { timing, events };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
