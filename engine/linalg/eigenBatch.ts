// Many symmetric eigen-decompositions at once (every layer of a model), spread over worker threads:
// each worker runs the single-threaded wasm kernels and a one-thread onnxruntime, so a pool of one
// worker per core keeps every core busy, where one decomposition at a time leaves a core idle during
// its BLAS-2 part. The largest matrices are handed out first. Without the compiled worker script
// (e.g. inside a bundle that does not ship eigenWorker.js) the batch runs in this thread. Workers
// stay up between batches (warm JIT, cached onnxruntime sessions) but do not hold the process open.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CancelSignal } from '../cancellation';
import type { EigenRequest, EigenResponse } from './eigenWorker';
import { symmetricEigen, type SymmetricEigen } from './symmetricEigen';

/** One matrix of a batch: row-major n x n, symmetric. */
export interface EigenTask {
  readonly matrix: Float64Array;
  readonly n: number;
}

/** Options of symmetricEigenBatch. */
export interface EigenBatchOptions {
  /** The pool to run on (default: a shared pool of one worker per core, created on first use). */
  readonly pool?: EigenPool;
  /** Checked before each matrix is started; a cancelled batch rejects with a CANCELLED HalocError. */
  readonly signal?: CancelSignal;
}

/** Worker threads that decompose symmetric matrices; idle workers do not keep the process alive. */
export class EigenPool {
  private readonly workers: Worker[] = [];
  private busy = Promise.resolve();

  /** `size` workers running `script` (default: eigenWorker.js next to this module). */
  constructor(readonly size: number = os.availableParallelism(), private readonly script: string = path.join(__dirname, 'eigenWorker.js')) {}

  /** True when the worker script exists (it does not inside a bundle that leaves it out). */
  get available(): boolean {
    return this.size > 1 && fs.existsSync(this.script);
  }

  /** symmetricEigen of every task, in the order given; batches on one pool run one after another. */
  run(tasks: readonly EigenTask[], signal?: CancelSignal): Promise<SymmetricEigen[]> {
    const result = this.busy.then(() => this.runNow(tasks, signal));
    this.busy = result.then(() => undefined, () => undefined);
    return result;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private async runNow(tasks: readonly EigenTask[], signal: CancelSignal | undefined): Promise<SymmetricEigen[]> {
    while (this.workers.length < Math.min(this.size, tasks.length)) {
      const worker = new Worker(this.script);
      worker.unref();
      this.workers.push(worker);
    }
    const order = tasks.map((_, i) => i).sort((a, b) => tasks[b]!.n - tasks[a]!.n);
    const results = new Array<SymmetricEigen | undefined>(tasks.length);
    let next = 0;
    // two requests in flight per worker, so that a worker never waits for the round trip
    const feed = async (worker: Worker): Promise<void> => {
      while (next < order.length) {
        signal?.throwIfCancelled();
        const id = order[next++]!;
        const task = tasks[id]!;
        const reply = await ask(worker, { id, n: task.n, matrix: task.matrix.slice(0, task.n * task.n) });
        if ('error' in reply) throw new Error(`symmetricEigenBatch: matrix ${id} (n = ${task.n}): ${reply.error}`);
        results[id] = { n: task.n, values: reply.values, vectors: reply.vectors };
      }
    };
    await Promise.all(this.workers.slice(0, tasks.length).flatMap((worker) => [feed(worker), feed(worker)]));
    return results as SymmetricEigen[];
  }
}

let sharedPool: EigenPool | undefined;

/** symmetricEigen of every task, in the order given, on a pool of worker threads (or in this thread). */
export async function symmetricEigenBatch(tasks: readonly EigenTask[], options: EigenBatchOptions = {}): Promise<SymmetricEigen[]> {
  const pool = options.pool ?? (sharedPool ??= new EigenPool());
  if (!pool.available || tasks.length <= 1) {
    const results: SymmetricEigen[] = [];
    for (const t of tasks) {
      options.signal?.throwIfCancelled();
      results.push(await symmetricEigen(t.matrix, t.n));
    }
    return results;
  }
  return pool.run(tasks, options.signal);
}
const pending = new WeakMap<Worker, number>();

function ask(worker: Worker, request: EigenRequest): Promise<EigenResponse> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: EigenResponse): void => {
      if (reply.id !== request.id) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      const left = (pending.get(worker) ?? 1) - 1;
      pending.set(worker, left);
      if (left === 0) worker.unref();
      resolve(reply);
    };
    pending.set(worker, (pending.get(worker) ?? 0) + 1);
    worker.ref(); // keep the process alive while a request is out
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.postMessage(request, [request.matrix.buffer as ArrayBuffer]);
  });
}
