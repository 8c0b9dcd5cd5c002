// The search and compress jobs through the real engine worker thread (workerMain), as the extension
// runs them: start with an id and a shared cancel flag, progress with phase text and fraction, the
// result, and a cancel message that stops a running search with a CANCELLED error.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SharedCancelFlag } from '../../../engine/cancellation';
import type { CompressJobReport } from '../../../engine/search/compressJob';
import type { SearchJobResult } from '../../../engine/search/searchJob';
import type { JobRequest, WorkerToHost } from '../../../engine/worker/protocol';
import { fastJobSettings, writeJobFiles, type JobFiles } from '../search/jobSupport';
import { makeTempDir, removeDir } from '../testSupport';

/** Runs jobs in one worker and collects its messages by job id. */
class WorkerHarness {
  readonly worker = new Worker(path.join(__dirname, '..', '..', '..', 'engine', 'worker', 'workerMain.js'));
  private readonly waiting = new Map<number, { messages: WorkerToHost[]; done: (last: WorkerToHost) => void }>();

  constructor() {
    this.worker.on('message', (message: WorkerToHost) => {
      if (message.type === 'ready') return;
      const entry = this.waiting.get(message.jobId);
      entry?.messages.push(message);
      if (message.type !== 'progress') entry?.done(message);
    });
  }

  /** Starts a job; resolves with every message of it once its result or error arrived. */
  run(jobId: number, job: JobRequest, flag = new SharedCancelFlag()): Promise<WorkerToHost[]> {
    return new Promise((resolve) => {
      const messages: WorkerToHost[] = [];
      this.waiting.set(jobId, { messages, done: () => resolve(messages) });
      this.worker.postMessage({ type: 'start', jobId, job, cancelFlag: flag.buffer });
    });
  }
}

describe('worker: the search and compress jobs in the engine worker thread', function () {
  this.timeout(120000);
  let dir = '';
  let files: JobFiles;
  let harness: WorkerHarness;

  before(async () => {
    dir = makeTempDir('haloc-worker-jobs-');
    files = await writeJobFiles(dir);
    harness = new WorkerHarness();
  });
  after(async () => {
    await harness.worker.terminate();
    removeDir(dir);
  });

  it('runs a search, then compresses one of its points, with progress in between', async () => {
    const settings = fastJobSettings(files);
    const messages = await harness.run(1, { kind: 'search', settings });
    const last = messages[messages.length - 1];
    assert.equal(last?.type, 'result', JSON.stringify(last));
    const progress = messages.filter((m): m is Extract<WorkerToHost, { type: 'progress' }> => m.type === 'progress');
    assert.ok(progress.length > 0 && progress.every((m) => m.message.length > 0 && m.fraction !== undefined && m.fraction >= 0 && m.fraction <= 1));
    const result = (last as Extract<WorkerToHost, { type: 'result' }>).result as SearchJobResult;
    assert.equal(result.result.mode, 'fast');
    const outputPath = path.join(dir, 'front0.onnx');
    const compressed = await harness.run(2, { kind: 'compress', search: settings, point: { id: 'front:0', name: 'front 0', ranks: result.result.front[0]!.ranks, onnx: null }, outputPath });
    const report = compressed[compressed.length - 1];
    assert.equal(report?.type, 'result', JSON.stringify(report));
    assert.equal(((report as Extract<WorkerToHost, { type: 'result' }>).result as CompressJobReport).outputPath, outputPath);
  });

  it('stops a running search on a cancel message: a CANCELLED error, not a result', async () => {
    const flag = new SharedCancelFlag();
    const done = harness.run(3, { kind: 'search', settings: fastJobSettings(files, { fast: { calibration: 40, points: 4 } }) }, flag);
    harness.worker.postMessage({ type: 'cancel', jobId: 3 });
    const messages = await done;
    const last = messages[messages.length - 1];
    assert.equal(last?.type, 'error');
    assert.equal((last as Extract<WorkerToHost, { type: 'error' }>).code, 'CANCELLED');
  });
});
