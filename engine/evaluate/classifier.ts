// An image classifier in onnxruntime-node (a quiet session, inferenceSession.ts: idle threads do not
// spin, so that a training session beside it keeps the cores): logits for batches of
// preprocessed images. Serves evaluation and the teacher of distillation.
import * as os from 'node:os';
import { openInferenceSession } from './inferenceSession';

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
  const session = await openInferenceSession(model, typeof model === 'string' ? model : 'the model', threads);
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
