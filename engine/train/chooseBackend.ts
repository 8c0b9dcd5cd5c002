// Picks the training backend at run time: onnxruntime-node training graphs (measured fastest on CPU:
// every convolution of forward and backward in onnxruntime's kernels), falling back to TensorFlow.js
// (tfjs-node where it installed, else its wasm backend) when onnxruntime cannot run the step graph;
// either can be asked for by name.
import { errorMessage, HalocError } from '../errors';
import type { OnnxModel } from '../onnx/onnxModel';
import { createOrtBackend } from './ortBackend';
import type { BackendSpec, TrainingBackend } from './trainingBackend';

/** Which backend to use. */
export type BackendChoice = 'auto' | 'onnxruntime' | 'tfjs';

/** Parses a --backend value. */
export function parseBackendChoice(value: string): BackendChoice {
  if (value === 'auto' || value === 'onnxruntime' || value === 'tfjs') return value;
  throw new HalocError('BAD_ARGUMENT', `--backend must be auto, onnxruntime or tfjs, not '${value}'`);
}

/** Creates the chosen backend; 'auto' tries onnxruntime first and says why it fell back. */
export async function createBackend(model: OnnxModel, spec: BackendSpec, choice: BackendChoice = 'auto', log: (line: string) => void = () => undefined): Promise<TrainingBackend> {
  const tfjs = async (): Promise<TrainingBackend> => (await import('./tfjs/tfjsBackend')).createTfjsBackend(model, spec);
  if (choice === 'tfjs') return tfjs();
  try {
    return await createOrtBackend(model, spec);
  } catch (error) {
    if (choice === 'onnxruntime') throw error;
    log(`onnxruntime training graphs unavailable (${errorMessage(error)}); using TensorFlow.js`);
    return tfjs();
  }
}
