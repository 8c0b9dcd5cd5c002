// onnxruntime sessions of the search: full graph optimisation, a fixed number of intra-op threads, and
// no spinning of idle threads (on a busy 2-core machine spinning threads take the core the work needs:
// measured here, a factorized ResNet-20 evaluated at batch 32 took 2.5-3.1 s with spinning against
// 1.2-1.4 s without).
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { errorMessage, HalocError } from '../errors';

/** Creates a session from ONNX bytes; `what` names the model in the error message. */
export async function openSearchSession(bytes: Uint8Array, what: string, threads = os.availableParallelism(), options: { readonly memoryArena?: boolean } = {}): Promise<Ort.InferenceSession> {
  const ort = await import('onnxruntime-node');
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      enableCpuMemArena: options.memoryArena ?? true,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    throw new HalocError('UNSUPPORTED', `onnxruntime cannot load ${what}: ${errorMessage(error)}`);
  }
}
