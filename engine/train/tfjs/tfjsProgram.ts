// Runs a plan in TensorFlow.js: one forward pass node by node (keeping each node's backward closure),
// the loss on the host, then the backward pass in reverse order, accumulating input gradients.
// Everything a step creates lives in one engine scope that ends with the step.
import { errorMessage, HalocError } from '../../errors';
import { DataType } from '../../onnx/dataType';
import type { OnnxModel } from '../../onnx/onnxModel';
import type { BackendSpec, StepInputs, StepOutputs } from '../trainingBackend';
import { softmaxLoss } from './softmaxLoss';
import { dimsOf, gradInLayoutOf, plain, plainTensor } from './tfjsLayout';
import type { TfjsPlan } from './tfjsPlan';
import type { Act, Backward, OpContext, Tensor, Tf } from './tfjsTypes';

/** A compiled model: constants uploaded once, steps run synchronously. */
export class TfjsProgram {
  private readonly constantActs = new Map<string, Act>();
  private readonly contexts: readonly OpContext[];

  constructor(
    private readonly tf: Tf,
    private readonly model: OnnxModel,
    private readonly plan: TfjsPlan,
    private readonly spec: BackendSpec,
  ) {
    this.contexts = plan.steps.map((step) => this.contextOf(step.node, step.label));
  }

  /** One forward and backward pass. */
  step(inputs: StepInputs): StepOutputs {
    const engine = this.tf.engine();
    engine.startScope();
    try {
      return this.run(inputs);
    } finally {
      engine.endScope();
    }
  }

  /** Frees the uploaded constants. */
  dispose(): void {
    for (const act of this.constantActs.values()) act.t.dispose();
    this.constantActs.clear();
  }

  private run(inputs: StepInputs): StepOutputs {
    const { tf, plan } = this;
    const batch = this.spec.batch;
    const values = this.stepValues(inputs);
    const backwards: Backward[] = [];
    const running = new Map<string, Float32Array>();
    plan.steps.forEach((step, i) => {
      const args = (step.node.input ?? []).map((name) => (name ? (values.get(name) ?? this.constantAct(name)) : undefined));
      const result = this.forwardNode(i, args);
      result.outputs.forEach((act, k) => {
        const name = step.node.output?.[k];
        if (name) values.set(name, act);
      });
      backwards.push(result.backward);
      for (const [name, t] of result.running ?? []) running.set(name, Float32Array.from(t.dataSync() as Float32Array));
    });
    const logitsAct = values.get(plan.logits);
    if (!logitsAct) throw new Error(`tensorflow.js training: the logits '${plan.logits}' were not computed`);
    const logits = Float32Array.from(plainTensor(tf, logitsAct).dataSync() as Float32Array);
    checkLength('hardTargets', inputs.hardTargets, logits.length);
    checkLength('softTargets', inputs.softTargets, logits.length);
    const loss = softmaxLoss(logits, batch, inputs.hardTargets, inputs.softTargets, inputs.distillWeight, inputs.temperature);
    const grads = new Map<string, Tensor>();
    grads.set(plan.logits, gradInLayoutOf(tf, tf.tensor(loss.dLogits, dimsOf(logitsAct)), false, logitsAct));
    this.backward(backwards, grads);
    const paramGrads = new Map<string, Float32Array>();
    for (const name of plan.parameters) {
      const g = grads.get(name);
      paramGrads.set(name, g ? Float32Array.from(g.dataSync() as Float32Array) : new Float32Array(this.model.constants.get(name)?.elementCount ?? 0));
    }
    return { crossEntropy: loss.crossEntropy, distillCrossEntropy: loss.distillCrossEntropy, logits, grads: paramGrads, running, auxiliary: new Map() };
  }

  /** Images, trainable parameters and running statistics of this step as activations. */
  private stepValues(inputs: StepInputs): Map<string, Act> {
    const { tf, plan } = this;
    const values = new Map<string, Act>();
    const size = plan.inputDims.reduce((p, d) => p * d, 1);
    checkLength('images', inputs.images, size);
    values.set(plan.inputName, plain(tf.tensor(inputs.images, [...plan.inputDims])));
    const upload = (name: string, data: Float32Array): void => {
      const dims = this.model.constants.get(name)?.dims ?? [data.length];
      checkLength(name, data, dims.reduce((p, d) => p * d, 1));
      values.set(name, plain(tf.tensor(data, [...dims])));
    };
    for (const name of plan.parameters) {
      const data = inputs.params.get(name);
      if (!data) throw new HalocError('BAD_ARGUMENT', `tensorflow.js training: no value was given for the trainable parameter '${name}'`);
      upload(name, data);
    }
    for (const name of plan.runningNames) {
      const data = inputs.running.get(name);
      if (data) upload(name, data);
    }
    return values;
  }

  private forwardNode(i: number, args: readonly (Act | undefined)[]): ReturnType<TfjsPlan['steps'][number]['op']['forward']> {
    const step = this.plan.steps[i]!;
    try {
      return step.op.forward(this.contexts[i]!, args);
    } catch (error) {
      if (error instanceof HalocError) throw error;
      throw new HalocError('UNSUPPORTED', `tensorflow.js training: ${step.node.opType} node '${step.label}' failed (${errorMessage(error)})`);
    }
  }

  /** Runs the backward closures in reverse, leaving the parameter gradients in `grads`. */
  private backward(backwards: readonly Backward[], grads: Map<string, Tensor>): void {
    const { tf, plan } = this;
    for (let i = plan.steps.length - 1; i >= 0; i--) {
      const step = plan.steps[i]!;
      if (!step.wanted.some((w) => w)) continue;
      const outputs = step.node.output ?? [];
      const dOutputs = outputs.map((name) => (name ? grads.get(name) : undefined));
      if (dOutputs.every((g) => !g)) continue;
      const dInputs = tf.tidy(() => backwards[i]!(dOutputs, step.wanted) as Tensor[]);
      const released = new Set<Tensor>();
      for (const name of outputs) if (name) grads.delete(name);
      for (const g of [...dOutputs, ...dInputs]) if (g) released.add(g);
      (step.node.input ?? []).forEach((name, k) => {
        const g = dInputs[k];
        if (!name || !g || !step.wanted[k]) return;
        const previous = grads.get(name);
        if (previous) released.add(previous);
        grads.set(name, previous ? tf.add(previous, g) : g);
      });
      // free what no pending gradient refers to (ops may pass a gradient through unchanged)
      const live = new Set(grads.values());
      for (const g of released) if (!live.has(g)) g.dispose();
    }
  }

  /** A model constant as an activation, uploaded on first use and kept across steps. */
  private constantAct(name: string): Act {
    const cached = this.constantActs.get(name);
    if (cached) return cached;
    const constant = this.model.constants.get(name);
    if (!constant) throw new Error(`tensorflow.js training: tensor '${name}' has no value`);
    const dims = [...constant.dims];
    const isInt = constant.dataType !== DataType.FLOAT && constant.dataType !== DataType.DOUBLE && constant.dataType !== DataType.FLOAT16 && constant.dataType !== DataType.BFLOAT16;
    const t = isInt ? this.tf.tensor(Int32Array.from(constant.toNumbers()), dims, 'int32') : this.tf.tensor(constant.toFloat32(), dims);
    const act = plain(this.tf.keep(t));
    this.constantActs.set(name, act);
    return act;
  }

  private contextOf(node: OpContext['node'], label: string): OpContext {
    const { model, plan } = this;
    const values = (index: number): number[] | undefined => {
      const name = node.input?.[index];
      if (!name) return undefined;
      const known = model.constants.get(name)?.toNumbers() ?? plan.staticInts.get(name);
      if (!known) throw new HalocError('UNSUPPORTED', `tensorflow.js training: input '${name}' of node '${label}' must be a constant`);
      return [...known];
    };
    return { tf: this.tf, node, label, opset: model.opsetVersion, batchNorm: this.spec.batchNorm, ints: values, floats: values };
  }
}

function checkLength(what: string, data: Float32Array, expected: number): void {
  if (data.length !== expected) throw new HalocError('BAD_ARGUMENT', `tensorflow.js training: ${what} holds ${data.length} values, expected ${expected}`);
}
