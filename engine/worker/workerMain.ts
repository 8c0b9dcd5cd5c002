// Entry of the engine worker thread (worker_threads): runs jobs off the extension host's thread,
// posts progress at most every ~200 ms, and stops a job when its shared cancel flag is set.
import { parentPort } from 'node:worker_threads';
import { SharedCancelFlag } from '../cancellation';
import { errorMessage, HalocError } from '../errors';
import { jobHandlers, type JobHandler } from './jobs';
import type { HostToWorker, JobKind, WorkerToHost } from './protocol';

const port = parentPort;
if (!port) throw new Error('workerMain must run inside a worker thread');

const flags = new Map<number, SharedCancelFlag>();
const post = (message: WorkerToHost): void => port.postMessage(message);

port.on('message', (message: HostToWorker) => {
  switch (message.type) {
    case 'start':
      void runJob(message.jobId, message.job, new SharedCancelFlag(message.cancelFlag));
      break;
    case 'cancel':
      flags.get(message.jobId)?.cancel();
      break;
  }
});

async function runJob(jobId: number, job: Extract<HostToWorker, { type: 'start' }>['job'], flag: SharedCancelFlag): Promise<void> {
  flags.set(jobId, flag);
  let lastProgressMs = 0;
  const progress = (text: string, fraction?: number): void => {
    const now = Date.now();
    if (now - lastProgressMs < 200) return;
    lastProgressMs = now;
    post(fraction === undefined ? { type: 'progress', jobId, message: text } : { type: 'progress', jobId, message: text, fraction });
  };
  try {
    const handler = jobHandlers[job.kind] as JobHandler<JobKind>;
    const result = await handler(job, flag, progress);
    post({ type: 'result', jobId, result });
  } catch (error) {
    post({ type: 'error', jobId, code: error instanceof HalocError ? error.code : 'INTERNAL', message: error instanceof HalocError ? error.message : `internal error: ${errorMessage(error)}` });
  } finally {
    flags.delete(jobId);
  }
}

post({ type: 'ready' });
