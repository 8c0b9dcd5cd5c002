// Worker-thread entry of symmetricEigenBatch: decomposes the matrices it is sent, with a
// single-threaded onnxruntime (the pool runs one worker per core).
import { parentPort } from 'node:worker_threads';
import { setGemmThreads } from './ortGemm';
import { symmetricEigen } from './symmetricEigen';

/** A request to the worker. */
export interface EigenRequest {
  readonly id: number;
  readonly n: number;
  readonly matrix: Float64Array;
}

/** The worker's answer. */
export type EigenResponse =
  | { readonly id: number; readonly values: Float64Array; readonly vectors: Float64Array }
  | { readonly id: number; readonly error: string };

if (parentPort) {
  const port = parentPort;
  setGemmThreads(1);
  let queue = Promise.resolve();
  // one decomposition at a time, in arrival order (the pool keeps the next request queued here)
  port.on('message', (request: EigenRequest) => {
    queue = queue.then(() => symmetricEigen(request.matrix, request.n)).then(
      (r) => port.postMessage({ id: request.id, values: r.values, vectors: r.vectors } satisfies EigenResponse, [r.values.buffer as ArrayBuffer, r.vectors.buffer as ArrayBuffer]),
      (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies EigenResponse),
    );
  });
}
