// onnxruntime sessions of evaluation, search and training: a fixed number of intra-op threads, one
// inter-op thread, quiet logging, and no spinning of idle threads (on a busy 2-core machine spinning
// threads take the core the work needs: measured here, a factorized ResNet-20 evaluated at batch 32
// took 2.5-3.1 s with spinning against 1.2-1.4 s without; a distillation fine-tuning went from
// 172-176 to 208-230 images/s).
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { errorMessage, HalocError } from '../errors';

/** Session options with `threads` intra-op threads that do not spin when idle. */
export function quietSessionOptions(threads: number, optimization: 'all' | 'extended' = 'all', memoryArena = true): Ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: optimization,
    logSeverityLevel: 3,
    enableCpuMemArena: memoryArena,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** A session of a model file or ONNX bytes with the given options (onnxruntime's create has one overload for each). */
export async function createSession(model: string | Uint8Array, options: Ort.InferenceSession.SessionOptions): Promise<Ort.InferenceSession> {
  const ort = await import('onnxruntime-node');
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/** Creates a session from a model file or ONNX bytes; `what` names the model in the error message. */
export async function openInferenceSession(model: string | Uint8Array, what: string, threads = os.availableParallelism(), options: { readonly memoryArena?: boolean } = {}): Promise<Ort.InferenceSession> {
  try {
    return await createSession(model, quietSessionOptions(threads, 'all', options.memoryArena ?? true));
  } catch (error) {
    throw new HalocError('UNSUPPORTED', `onnxruntime cannot load ${what}: ${errorMessage(error)}`);
  }
}
