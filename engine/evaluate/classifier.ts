// An image classifier in onnxruntime-node (full graph optimisation, one thread per core, idle threads
// not spinning so that a training session beside it keeps the cores): logits for batches of
// preprocessed images. Serves evaluation and the teacher of distillation.
import * as os from 'node:os';
import type * as OrtModule from 'onnxruntime-node';
import { errorMessage, HalocError } from '../errors';

/** A loaded classifier. */
export interface Classifier {
  readonly inputName: string;
  /** Logits [count, classes] of `count` images (the model's input layout, [count, ...imageDims]). */
  logits(images: Float32Array, count: number, imageDims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Opens a model file (or ONNX bytes) as a classifier; its first input takes the images, its first output is the logits. */
export async function openClassifier(model: string | Uint8Array, threads = os.availableParallelism()): Promise<Classifier> {
  const ort = await import('onnxruntime-node');
  let session: OrtModule.InferenceSession;
  try {
    const options: OrtModule.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } } };
    session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (error) {
    throw new HalocError('UNSUPPORTED', `onnxruntime cannot load ${typeof model === 'string' ? model : 'the model'}: ${errorMessage(error)}`);
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  return {
    inputName,
    async logits(images, count, imageDims) {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', images, [count, ...imageDims]) });
      return out[outputName]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
