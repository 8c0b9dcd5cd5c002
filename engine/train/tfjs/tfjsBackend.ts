// The TensorFlow.js training backend: interprets the ONNX forward graph in tfjs ops (NHWC inside,
// the model's layout outside) with hand-written gradients, on tfjs-node when installed, else on
// the wasm backend. The alternative to the onnxruntime training graphs.
import { HalocError } from '../../errors';
import type { OnnxModel } from '../../onnx/onnxModel';
import type { BackendSpec, TrainingBackend } from '../trainingBackend';
import { loadTfjs } from './tfjsRuntime';
import { buildTfjsPlan } from './tfjsPlan';
import { TfjsProgram } from './tfjsProgram';

/** A training backend for `model` and `spec`; throws a HalocError when an op on the path is unsupported. */
export async function createTfjsBackend(model: OnnxModel, spec: BackendSpec): Promise<TrainingBackend> {
  if (spec.auxiliaryLosses?.size) throw new HalocError('UNSUPPORTED', 'the TensorFlow.js backend does not train auxiliary losses (the HALOC supernet): use the onnxruntime backend');
  const plan = buildTfjsPlan(model, spec); // unsupported models fail before tfjs loads
  const runtime = await loadTfjs();
  const program = new TfjsProgram(runtime.tf, model, plan, spec);
  return {
    description: runtime.description,
    parameters: plan.parameters,
    classes: plan.classes,
    step: async (inputs) => program.step(inputs),
    dispose: async () => program.dispose(),
  };
}
