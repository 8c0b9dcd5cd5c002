// One training step as an ONNX model: the forward graph (BatchNormalization and MaxPool in training
// form), the loss (cross-entropy and temperature-scaled distillation) with its gradient on the logits,
// and the reverse-mode backward built op by op (ops/). Trainable parameters and BatchNormalization
// running statistics are graph inputs; the losses, logits, parameter gradients and new running
// statistics are outputs. Shapes are static at the step's batch size.
import { HalocError } from '../errors';
import { nodesNeededFor } from '../graph/graphOrder';
import { inferShapes } from '../graph/inferShapes';
import { isStatic } from '../graph/valueInfo';
import { DataType } from '../onnx/dataType';
import { valueInfo } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import { onnx } from '../onnx/proto';
import { inlineExternalData } from '../onnx/writeOnnx';
import { inputOf } from './ops/trainingOp';
import { trainingOps } from './ops/trainingOps';
import { TRAINING_OPSET, upgradeNode } from './ops/upgradeNode';
import type { BackendSpec } from './trainingBackend';
import { TrainingGraph, type Dims } from './trainingGraph';

/** Names of the step model's fixed inputs and outputs. */
export const STEP_NAMES = {
  hardTargets: 'haloc_train/hard_targets',
  softTargets: 'haloc_train/soft_targets',
  distillWeight: 'haloc_train/distill_weight',
  temperature: 'haloc_train/temperature',
  crossEntropy: 'haloc_train/cross_entropy',
  distillCrossEntropy: 'haloc_train/distill_cross_entropy',
  logits: 'haloc_train/logits',
} as const;

/** The step model and the names of its inputs and outputs. */
export interface StepGraph {
  readonly model: onnx.IModelProto;
  readonly imageInput: string;
  readonly imageDims: Dims;
  readonly classes: number;
  /** Trainable parameters that receive a gradient, in input order, with the output of each gradient. */
  readonly params: readonly { readonly name: string; readonly dims: Dims; readonly grad: string }[];
  /** Running statistics (batch-statistics mode): input name, dims and the output of its update. */
  readonly running: readonly { readonly name: string; readonly dims: Dims; readonly updated: string }[];
  /** Auxiliary loss tensors and the outputs of their values. */
  readonly auxiliary: readonly { readonly name: string; readonly output: string }[];
}

/** Float initializers in a position that takes a gradient: what training updates by default. */
export function trainableInitializers(model: OnnxModel): string[] {
  const floats = new Set((model.graph.initializer ?? []).filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name ?? ''));
  const found = new Set<string>();
  for (const node of model.graph.node ?? []) {
    const op = trainingOps[node.opType ?? ''];
    if (!op) continue;
    for (const i of op.differentiable(node)) if (floats.has(inputOf(node, i))) found.add(inputOf(node, i));
  }
  return [...found];
}

/** The logits tensor: the first output, or the input of a final Softmax / LogSoftmax. */
function logitsOf(model: OnnxModel): { name: string; skipped?: onnx.INodeProto } {
  const output = model.graph.output?.[0]?.name;
  if (!output) throw new HalocError('UNSUPPORTED', 'training: the model has no output');
  const producer = (model.graph.node ?? []).find((n) => n.output?.includes(output));
  if (producer && (producer.opType === 'Softmax' || producer.opType === 'LogSoftmax')) return { name: inputOf(producer, 0), skipped: producer };
  return { name: output };
}

/** Builds the training step model of `model` for `spec`. */
export function buildStepGraph(model: OnnxModel, spec: BackendSpec): StepGraph {
  const shapes = inferShapes(model, { batch: spec.batch });
  const staticShapes = new Map<string, Dims>();
  for (const [name, info] of shapes.values) if (isStatic(info.dims)) staticShapes.set(name, info.dims);
  const initializerNames = new Set((model.graph.initializer ?? []).map((t) => t.name ?? ''));
  const dataInputs = shapes.inputs.filter((i) => !initializerNames.has(i.name));
  if (dataInputs.length !== 1) throw new HalocError('UNSUPPORTED', `training: the model must have exactly one data input, it has ${dataInputs.length}`);
  const image = dataInputs[0]!;
  if (!isStatic(image.dims)) throw new HalocError('UNSUPPORTED', `training: input '${image.name}' has symbolic dims ${JSON.stringify(image.dims)} besides the batch; give --input-shape`);
  const logits = logitsOf(model);
  const logitDims = staticShapes.get(logits.name);
  if (!logitDims || logitDims.length !== 2 || logitDims[0] !== spec.batch) throw new HalocError('UNSUPPORTED', `training: the logits '${logits.name}' must be [batch, classes], not ${JSON.stringify(logitDims)}`);
  const classes = logitDims[1]!;

  const g = new TrainingGraph(staticShapes, model.constants, spec.batchNorm);
  const nodes = model.graph.node ?? [];
  const auxiliary = [...(spec.auxiliaryLosses ?? new Map<string, number>())];
  for (const [name] of auxiliary) {
    const dims = staticShapes.get(name);
    if (!dims || dims.length !== 0) throw new HalocError('BAD_ARGUMENT', `training: the auxiliary loss '${name}' must be a scalar tensor of the model, not ${JSON.stringify(dims)}`);
  }
  // the nodes the targets (logits, auxiliary losses) depend on, in topological order
  const order = nodesNeededFor(model.graph.node ?? [], [logits.name, ...auxiliary.map(([name]) => name)], shapes.order).indices;
  const upgraded = new Map(order.map((i) => [i, upgradeNode(g, nodes[i]!, model.opsetVersion)]));

  // which tensors carry gradients
  const requiresGrad = new Set([...spec.trainable].filter((name) => initializerNames.has(name)));
  for (const i of order) {
    const node = upgraded.get(i)!;
    const op = trainingOps[node.opType ?? ''];
    const flows = op ? op.differentiable(node).some((k) => requiresGrad.has(inputOf(node, k))) : (node.input ?? []).some((x) => requiresGrad.has(x));
    if (!flows) continue;
    if (!op) throw new HalocError('UNSUPPORTED', `training: op ${node.opType ?? '?'} ('${node.name ?? ''}') has no gradient; supported: ${Object.keys(trainingOps).join(', ')}`);
    for (const out of node.output ?? []) if (out) requiresGrad.add(out);
  }

  // forward
  for (const i of order) {
    const node = upgraded.get(i)!;
    const op = trainingOps[node.opType ?? ''];
    const onPath = (node.output ?? []).some((o) => requiresGrad.has(o));
    const trainingForm = op?.forward && (onPath || (node.opType === 'BatchNormalization' && spec.batchNorm === 'batch-statistics'));
    if (trainingForm) op.forward!(g, node);
    else g.copy(node);
  }

  // loss and its gradient on the logits
  const dLogits = lossGraph(g, logits.name, logitDims);

  // backward
  const grads = new Map<string, string[]>();
  const gradOf = (name: string): string | undefined => {
    const parts = grads.get(name);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length > 1) grads.set(name, [g.node('Sum', parts, g.dims(name))]);
    return grads.get(name)![0];
  };
  grads.set(logits.name, [dLogits]);
  for (const [name, weight] of auxiliary) grads.set(name, [...(grads.get(name) ?? []), g.float([weight], [])]);
  for (let k = order.length - 1; k >= 0; k--) {
    const node = upgraded.get(order[k]!)!;
    const op = trainingOps[node.opType ?? ''];
    if (!op) continue;
    const dOutputs = (node.output ?? []).map((o) => (o ? gradOf(o) : undefined));
    if (dOutputs.every((d) => d === undefined)) continue;
    const differentiable = op.differentiable(node);
    const wanted = (node.input ?? []).map((x, i) => differentiable.includes(i) && requiresGrad.has(x));
    if (!wanted.some(Boolean)) continue;
    const inputGrads = op.backward(g, node, dOutputs, wanted);
    inputGrads.forEach((d, i) => {
      if (!d || !wanted[i]) return;
      const name = inputOf(node, i);
      grads.set(name, [...(grads.get(name) ?? []), d]);
    });
  }

  const params: { name: string; dims: Dims; grad: string }[] = [];
  for (const name of spec.trainable) {
    const d = initializerNames.has(name) ? gradOf(name) : undefined;
    if (!d) continue;
    const [out] = g.nodeN('Identity', [d], {}, [`haloc_train/grad/${name}`]);
    params.push({ name, dims: g.dims(name), grad: out! });
  }
  const running = [...g.runningUpdates].map(([name, update]) => {
    const [out] = g.nodeN('Identity', [update], {}, [`haloc_train/running/${name}`]);
    return { name, dims: g.dims(name), updated: out! };
  });
  g.nodeN('Identity', [logits.name], {}, [STEP_NAMES.logits]);
  const auxiliaryOutputs = auxiliary.map(([name]) => ({ name, output: g.nodeN('Identity', [name], {}, [`haloc_train/auxiliary/${name}`])[0]! }));

  const asInput = new Set([...params.map((p) => p.name), ...running.map((r) => r.name)]);
  const inlined = inlineExternalData(model.proto, model.constants).graph?.initializer ?? [];
  const f32 = DataType.FLOAT;
  const opset = Math.max(TRAINING_OPSET, model.opsetVersion);
  const otherDomains = (model.proto.opsetImport ?? []).filter((o) => o.domain && o.domain !== 'ai.onnx');
  const stepModel = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'haloc-train',
    opsetImport: [{ domain: '', version: opset }, ...otherDomains],
    graph: {
      name: 'haloc_training_step',
      node: g.nodes,
      initializer: [...inlined.filter((t) => !asInput.has(t.name ?? '')), ...g.initializers],
      input: [
        valueInfo(image.name, image.elemType, image.dims),
        valueInfo(STEP_NAMES.hardTargets, f32, logitDims),
        valueInfo(STEP_NAMES.softTargets, f32, logitDims),
        valueInfo(STEP_NAMES.distillWeight, f32, []),
        valueInfo(STEP_NAMES.temperature, f32, []),
        ...params.map((p) => valueInfo(p.name, f32, p.dims)),
        ...running.map((r) => valueInfo(r.name, f32, r.dims)),
      ],
      output: [
        valueInfo(STEP_NAMES.crossEntropy, f32, []),
        valueInfo(STEP_NAMES.distillCrossEntropy, f32, []),
        valueInfo(STEP_NAMES.logits, f32, logitDims),
        ...params.map((p) => valueInfo(p.grad, f32, p.dims)),
        ...running.map((r) => valueInfo(r.updated, f32, r.dims)),
        ...auxiliaryOutputs.map((a) => valueInfo(a.output, f32, [])),
      ],
    },
  });
  return { model: stepModel, imageInput: image.name, imageDims: image.dims, classes, params, running, auxiliary: auxiliaryOutputs };
}

/**
 * Emits cross-entropy to the hard targets, T^2 * cross-entropy of softmax(logits / T) to the soft
 * targets, and returns d loss / d logits for loss = (1 - alpha) CE + alpha T^2 KL.
 */
function lossGraph(g: TrainingGraph, logits: string, dims: Dims): string {
  const [batch] = dims as [number, number];
  const n = STEP_NAMES;
  for (const [name, d] of [[n.hardTargets, dims], [n.softTargets, dims], [n.distillWeight, []], [n.temperature, []]] as const) g.setDims(name, d);
  const scalar: Dims = [];
  const logProbs = (x: string): string => g.node('LogSoftmax', [x], dims, { axis: 1 });
  const probs = (x: string): string => g.node('Softmax', [x], dims, { axis: 1 });
  const meanCross = (targets: string, logp: string): string => g.node('Mul', [g.reduceSum(g.node('Mul', [targets, logp], dims), [0, 1], false), g.scalar(-1 / batch)], scalar);
  const ce = meanCross(n.hardTargets, logProbs(logits));
  g.nodeN('Identity', [ce], {}, [n.crossEntropy]);
  const scaled = g.node('Div', [logits, n.temperature], dims);
  const tSquared = g.node('Mul', [n.temperature, n.temperature], scalar);
  const kd = g.node('Mul', [meanCross(n.softTargets, logProbs(scaled)), tSquared], scalar);
  g.nodeN('Identity', [kd], {}, [n.distillCrossEntropy]);
  // d/dlogits: ((1 - alpha)(p - hard) + alpha T (p_T - soft)) / batch
  const hardPart = g.node('Mul', [g.node('Sub', [probs(logits), n.hardTargets], dims), g.node('Sub', [g.scalar(1), n.distillWeight], scalar)], dims);
  const softPart = g.node('Mul', [g.node('Sub', [probs(scaled), n.softTargets], dims), g.node('Mul', [n.distillWeight, n.temperature], scalar)], dims);
  return g.node('Mul', [g.node('Add', [hardPart, softPart], dims), g.scalar(1 / batch)], dims);
}
