// The onnxruntime-node training backend: the whole step (forward, loss, backward) is one ONNX model
// (stepGraph.ts) run in one session, so every convolution of the backward pass runs in onnxruntime's
// optimised kernels (ConvTranspose for input gradients, a Conv of transposed tensors for weight
// gradients) on all cores. Parameters go in and gradients come out as plain Float32Arrays.
import * as os from 'node:os';
import type * as OrtModule from 'onnxruntime-node';
import { errorMessage, HalocError } from '../errors';
import type { OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx } from '../onnx/writeOnnx';
import { quietSessionOptions } from '../evaluate/inferenceSession';
import { buildStepGraph, STEP_NAMES, type StepGraph } from './stepGraph';
import type { BackendSpec, StepInputs, StepOutputs, TrainingBackend } from './trainingBackend';

/** Options of the onnxruntime backend. */
export interface OrtBackendOptions {
  /** Intra-op threads (default: one per core). */
  readonly threads?: number;
}

/** Builds the step model of `model` and opens it in onnxruntime-node. */
export async function createOrtBackend(model: OnnxModel, spec: BackendSpec, options: OrtBackendOptions = {}): Promise<TrainingBackend> {
  const step = buildStepGraph(model, spec);
  const ort = await import('onnxruntime-node');
  const threads = options.threads ?? os.availableParallelism();
  let session: OrtModule.InferenceSession;
  try {
    // idle threads do not spin: the teacher's session runs between steps, and spinning threads of the
    // idle session took the cores from the busy one (fine-tuning with a teacher: 172-176 images/s with
    // spinning, 208-230 without; the step alone is the same either way)
    session = await ort.InferenceSession.create(encodeOnnx(step.model), quietSessionOptions(threads, 'extended'));
  } catch (error) {
    throw new HalocError('UNSUPPORTED', `training: onnxruntime could not load the training graph of ${model.filePath}: ${errorMessage(error)}`);
  }
  return new OrtBackend(ort, session, step, spec, threads);
}

class OrtBackend implements TrainingBackend {
  readonly description: string;
  readonly classes: number;

  constructor(
    private readonly ort: typeof OrtModule,
    private readonly session: OrtModule.InferenceSession,
    private readonly graph: StepGraph,
    private readonly spec: BackendSpec,
    threads: number,
  ) {
    this.description = `onnxruntime-node training graphs (${threads} thread${threads === 1 ? '' : 's'})`;
    this.classes = graph.classes;
  }

  get parameters(): readonly string[] {
    return this.graph.params.map((p) => p.name);
  }

  async step(inputs: StepInputs): Promise<StepOutputs> {
    const { ort, graph: step } = this;
    const tensor = (data: Float32Array, dims: readonly number[]): OrtModule.Tensor => new ort.Tensor('float32', data, [...dims]);
    const feeds: Record<string, OrtModule.Tensor> = {
      [step.imageInput]: tensor(inputs.images, step.imageDims),
      [STEP_NAMES.hardTargets]: tensor(inputs.hardTargets, [this.spec.batch, step.classes]),
      [STEP_NAMES.softTargets]: tensor(inputs.softTargets, [this.spec.batch, step.classes]),
      [STEP_NAMES.distillWeight]: tensor(Float32Array.of(inputs.distillWeight), []),
      [STEP_NAMES.temperature]: tensor(Float32Array.of(inputs.temperature), []),
    };
    for (const p of step.params) feeds[p.name] = tensor(required(inputs.params, p.name, 'parameter'), p.dims);
    for (const r of step.running) feeds[r.name] = tensor(required(inputs.running, r.name, 'running statistic'), r.dims);
    const out = await this.session.run(feeds);
    const values = (name: string): Float32Array => out[name]!.data as Float32Array;
    return {
      crossEntropy: values(STEP_NAMES.crossEntropy)[0]!,
      distillCrossEntropy: values(STEP_NAMES.distillCrossEntropy)[0]!,
      logits: values(STEP_NAMES.logits),
      grads: new Map(step.params.map((p) => [p.name, values(p.grad)])),
      running: new Map(step.running.map((r) => [r.name, values(r.updated)])),
      auxiliary: new Map(step.auxiliary.map((a) => [a.name, values(a.output)[0]!])),
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function required(map: ReadonlyMap<string, Float32Array>, name: string, what: string): Float32Array {
  const value = map.get(name);
  if (!value) throw new Error(`training step: no value for ${what} '${name}'`);
  return value;
}
