// Drives a fuzz run from the main thread: sends the cases one by one to a worker thread, stops a case
// that runs past the time bound or whose process memory grows past the memory bound (sampled while it
// runs), starts a fresh worker after such a case, and sums up the outcomes. Used by the seeded unit
// test and by bench/fuzzOnnx.mjs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CaseResult, FuzzOutcome } from './fuzzCaseRunner';
import { failureOutcomes } from './fuzzCaseRunner';
import type { FuzzWorkerData, FuzzWorkerMessage } from './fuzzWorker';

/** Settings of a fuzz run. */
export interface FuzzOptions {
  readonly seed: number;
  readonly cases: number;
  /** The shared models folder; '' or a missing folder fuzzes the generated models only. */
  readonly sharedDir: string;
  /** A case running longer is stopped and counted as 'timeout'. */
  readonly timeoutMs: number;
  /** Growth of the process RSS over its level before the first case that counts as 'memory'. */
  readonly memoryLimitMb: number;
  /** Called after every case (progress, logging). */
  readonly onResult?: (result: CaseResult) => void;
}

/** The result of a fuzz run. */
export interface FuzzSummary {
  readonly baseNames: readonly string[];
  readonly counts: ReadonlyMap<FuzzOutcome, number>;
  readonly failures: readonly CaseResult[];
  /** The slowest cases, slowest first. */
  readonly slowest: readonly CaseResult[];
  readonly peakRssGrowthMb: number;
  readonly totalMs: number;
}

interface RunningWorker {
  readonly worker: Worker;
  baseNames: readonly string[];
  readonly messages: FuzzWorkerMessage[];
  wake: () => void;
  failure: Error | undefined;
}

async function startWorker(data: FuzzWorkerData, memoryLimitMb: number): Promise<RunningWorker> {
  const worker = new Worker(path.join(__dirname, 'fuzzWorker.js'), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: memoryLimitMb } });
  const running: RunningWorker = { worker, baseNames: [], messages: [], wake: () => undefined, failure: undefined };
  worker.on('message', (message: FuzzWorkerMessage) => (running.messages.push(message), running.wake()));
  worker.on('error', (error) => ((running.failure = error), running.wake()));
  worker.on('exit', (code) => ((running.failure ??= new Error(`the fuzz worker exited with code ${code}`)), running.wake()));
  const ready = await nextMessage(running, 120_000);
  if (ready?.type !== 'ready') throw new Error(`the fuzz worker did not start: ${running.failure?.message ?? 'no ready message'}`);
  running.baseNames = ready.baseNames;
  return running;
}

/** The next message of the worker, or undefined on failure or after `timeoutMs`. */
async function nextMessage(running: RunningWorker, timeoutMs: number, onTick?: () => boolean): Promise<FuzzWorkerMessage | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (running.messages.length === 0 && !running.failure && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(20, Math.max(1, deadline - Date.now())));
      running.wake = () => (clearTimeout(timer), resolve());
    });
    if (onTick && !onTick()) return undefined;
  }
  return running.messages.shift();
}

/** Runs `cases` cases of the run seeded with `seed`. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-fuzz-'));
  const data: FuzzWorkerData = { seed: options.seed, sharedDir: options.sharedDir, workDir };
  const counts = new Map<FuzzOutcome, number>();
  const failures: CaseResult[] = [];
  const all: CaseResult[] = [];
  const started = Date.now();
  let peakGrowth = 0;
  let running: RunningWorker | undefined;
  let baseNames: readonly string[] = [];
  try {
    for (let index = 0; index < options.cases; index++) {
      running ??= await startWorker(data, Math.max(512, options.memoryLimitMb * 2));
      baseNames = running.baseNames;
      const baseline = process.memoryUsage.rss();
      let growth = 0;
      const withinMemory = (): boolean => {
        growth = Math.max(growth, (process.memoryUsage.rss() - baseline) / 2 ** 20);
        return growth <= options.memoryLimitMb;
      };
      running.worker.postMessage({ index });
      const caseStart = Date.now();
      const startedMessage = await nextMessage(running, options.timeoutMs, withinMemory);
      const info = startedMessage?.type === 'started' ? startedMessage : { index, base: '?', kind: '?', description: 'the case was not generated' };
      const message = startedMessage?.type === 'started' ? await nextMessage(running, Math.max(1, options.timeoutMs - (Date.now() - caseStart)), withinMemory) : undefined;
      withinMemory();
      peakGrowth = Math.max(peakGrowth, growth);
      let result: CaseResult;
      if (message?.type === 'result') {
        result = growth > options.memoryLimitMb ? { ...message.result, outcome: 'memory', message: `process memory grew by ${growth.toFixed(0)} MB (bound ${options.memoryLimitMb} MB)` } : message.result;
      } else {
        const failure = running.failure;
        const ms = Date.now() - caseStart;
        const outcome: FuzzOutcome = growth > options.memoryLimitMb || /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(`${failure?.message ?? ''} ${(failure as { code?: string } | undefined)?.code ?? ''}`) ? 'memory' : failure ? 'crash' : 'timeout';
        const why = outcome === 'timeout' ? `no result within ${options.timeoutMs} ms` : outcome === 'memory' ? `memory past the bound (grew by ${growth.toFixed(0)} MB; ${failure?.message ?? 'stopped'})` : `the worker died: ${failure?.message ?? ''}`;
        result = { index, base: info.base, kind: info.kind, description: info.description, outcome, message: why, ms };
        await running.worker.terminate();
        running = undefined;
      }
      counts.set(result.outcome, (counts.get(result.outcome) ?? 0) + 1);
      if (failureOutcomes.has(result.outcome)) failures.push(result);
      all.push(result);
      options.onResult?.(result);
    }
  } finally {
    await running?.worker.terminate();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const slowest = [...all].sort((a, b) => b.ms - a.ms).slice(0, 5);
  return { baseNames, counts, failures, slowest, peakRssGrowthMb: peakGrowth, totalMs: Date.now() - started };
}
