// Runs engine jobs in a worker thread (dist/worker.js) so the extension host never blocks: typed
// requests matched by id, progress callbacks, cancellation through a shared flag, one worker reused.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as vscode from 'vscode';
import { SharedCancelFlag } from '../engine/cancellation';
import { HalocError, type HalocErrorCode } from '../engine/errors';
import type { JobKind, JobRequestMap, WorkerToHost } from '../engine/worker/protocol';

interface PendingJob {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: ((message: string, fraction?: number) => void) | undefined;
  readonly flag: SharedCancelFlag;
}

/** Options of one job. */
export interface JobOptions {
  readonly onProgress?: (message: string, fraction?: number) => void;
  readonly token?: vscode.CancellationToken;
}

/** The host side of the engine worker. */
export class EngineClient implements vscode.Disposable {
  private worker: Worker | undefined;
  private nextJobId = 1;
  private readonly pending = new Map<number, PendingJob>();

  /** `heapLimitMb()`: the worker's JavaScript heap limit (read at each worker start; 0: Node's default). */
  constructor(
    private readonly workerScript: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly heapLimitMb: () => number = () => 0,
  ) {}

  /** The worker bundle inside an installed extension. */
  static scriptIn(extensionPath: string): string {
    return path.join(extensionPath, 'dist', 'worker.js');
  }

  /** Runs a job and resolves with its result; rejects with a HalocError on a user-caused failure. */
  run<K extends JobKind>(kind: K, request: JobRequestMap[K]['request'], options: JobOptions = {}): Promise<JobRequestMap[K]['result']> {
    const worker = this.ensureWorker();
    const jobId = this.nextJobId++;
    const flag = new SharedCancelFlag();
    return new Promise((resolve, reject) => {
      this.pending.set(jobId, { resolve: resolve as (r: unknown) => void, reject, onProgress: options.onProgress, flag });
      options.token?.onCancellationRequested(() => {
        flag.cancel();
        worker.postMessage({ type: 'cancel', jobId });
      });
      worker.postMessage({ type: 'start', jobId, job: { kind, ...request }, cancelFlag: flag.buffer });
    });
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.failAll(new HalocError('CANCELLED', 'the engine was shut down'));
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // A heap limit of its own: a job that outgrows it ends the worker (ERR_WORKER_OUT_OF_MEMORY), never the extension host.
    const limitMb = this.heapLimitMb();
    const worker = new Worker(this.workerScript, limitMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: limitMb } } : {});
    worker.on('message', (message: WorkerToHost) => this.onMessage(message));
    worker.on('error', (error: Error & { code?: string }) => {
      this.log.error(`engine worker failed: ${error.stack ?? error.message}`);
      this.failAll(error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new HalocError('IO', `the job needed more than the engine's memory limit of ${limitMb} MB (setting haloc.limits.engineHeapMB); nothing was written`)
        : new Error(`the engine worker failed: ${error.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      if (code !== 0) this.failAll(new Error(`the engine worker stopped (exit code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private onMessage(message: WorkerToHost): void {
    if (message.type === 'ready') {
      this.log.debug('engine worker ready');
      return;
    }
    const job = this.pending.get(message.jobId);
    if (!job) return;
    switch (message.type) {
      case 'progress':
        job.onProgress?.(message.message, message.fraction);
        break;
      case 'result':
        this.pending.delete(message.jobId);
        job.resolve(message.result);
        break;
      case 'error':
        this.pending.delete(message.jobId);
        job.reject(message.code === 'INTERNAL' ? new Error(message.message) : new HalocError(message.code as HalocErrorCode, message.message));
        break;
    }
  }

  private failAll(error: Error): void {
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }
}
