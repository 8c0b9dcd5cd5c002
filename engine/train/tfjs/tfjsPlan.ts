// What the TensorFlow.js interpreter runs for one model and spec: the nodes on the path from the image
// input and the trainable weights to the logits (a final Softmax is left out: its input is the
// logits), in topological order, with constant shape paths folded away, Conv+Relu pairs fused, and
// for every node which input gradients are needed. Pure analysis: no tfjs here.
import { HalocError } from '../../errors';
import { inferShapes, type ShapeInference } from '../../graph/inferShapes';
import { nodeLabel } from '../../graph/graphOrder';
import { isFloatType } from '../../onnx/dataType';
import type { OnnxModel } from '../../onnx/onnxModel';
import { int64ToNumber, type onnx } from '../../onnx/proto';
import type { BackendSpec } from '../trainingBackend';
import { convReluOp, tfjsOps } from './tfjsOps';
import type { TfjsOp } from './tfjsTypes';

/** One node as the interpreter runs it. */
export interface PlanStep {
  /** The ONNX node (for a fused Conv+Relu: the Conv with the Relu's output). */
  readonly node: onnx.INodeProto;
  readonly label: string;
  readonly op: TfjsOp;
  /** Per input: whether its gradient is needed. */
  readonly wanted: readonly boolean[];
}

/** The interpreter's program for one model and spec. */
export interface TfjsPlan {
  readonly inputName: string;
  /** Image input dims with the batch. */
  readonly inputDims: readonly number[];
  readonly logits: string;
  readonly classes: number;
  readonly steps: readonly PlanStep[];
  /** Values of small integer tensors computed statically (Shape -> Gather -> Concat chains). */
  readonly staticInts: ReadonlyMap<string, readonly number[]>;
  /** BatchNormalization running statistics (mean and variance inputs) on the path. */
  readonly runningNames: readonly string[];
  /** The trainable parameters the logits depend on (they receive gradients). */
  readonly parameters: readonly string[];
}

/** Builds the plan; throws a HalocError naming the first unsupported node on the path to the logits. */
export function buildTfjsPlan(model: OnnxModel, spec: BackendSpec): TfjsPlan {
  const graph = model.graph;
  const nodes = graph.node ?? [];
  const { inputName, inputDims } = imageInput(model, spec.batch);
  checkTrainable(model, spec.trainable);
  const shapes = inferShapes(model, { batch: spec.batch, inputShapes: { [inputName]: inputDims } });
  const staticInts = new Map<string, readonly number[]>();
  for (const [name, info] of shapes.values) if (info.intValues) staticInts.set(name, info.intValues);
  const executed = executedNodes(model, shapes, inputName, spec.trainable, staticInts);
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => node.output?.forEach((name) => name && producer.set(name, i)));
  const logits = logitsOf(graph, nodes, producer);
  const needed = neededNodes(nodes, producer, executed, logits);
  const classes = classCount(shapes, logits);
  const order = shapes.order.filter((i) => needed.has(i));
  const steps = planSteps(graph, order, needed, spec.trainable, logits);
  const runningNames = steps.filter((s) => s.node.opType === 'BatchNormalization').flatMap((s) => [s.node.input?.[3] ?? '', s.node.input?.[4] ?? '']).filter((n) => n);
  const used = new Set(steps.flatMap((s) => s.node.input ?? []));
  const parameters = [...spec.trainable].filter((name) => used.has(name));
  return { inputName, inputDims, logits, classes, steps, staticInts, runningNames, parameters };
}

/** The steps in order, with the needed input gradients, Conv+Relu pairs fused; throws on an unsupported op. */
function planSteps(graph: onnx.IGraphProto, order: readonly number[], needed: ReadonlySet<number>, trainable: ReadonlySet<string>, logits: string): PlanStep[] {
  const nodes = graph.node ?? [];
  const requiresGrad = new Set(trainable);
  for (const i of order) {
    const node = nodes[i]!;
    if ((node.input ?? []).some((name) => requiresGrad.has(name))) node.output?.forEach((name) => name && requiresGrad.add(name));
  }
  const consumers = consumerCounts(graph, nodes);
  const steps: PlanStep[] = [];
  const fusedRelu = new Set<number>();
  for (const i of order) {
    if (fusedRelu.has(i)) continue;
    const node = nodes[i]!;
    const label = nodeLabel(node, i);
    const op = node.domain && node.domain !== 'ai.onnx' ? undefined : tfjsOps[node.opType ?? ''];
    if (!op) throw new HalocError('UNSUPPORTED', `tensorflow.js training: op '${node.domain ? `${node.domain}.` : ''}${node.opType}' (node '${label}') is not supported on the path to the output`);
    const wanted = (node.input ?? []).map((name) => requiresGrad.has(name));
    const relu = node.opType === 'Conv' ? fusableRelu(nodes, node, needed, consumers, logits) : undefined;
    if (relu === undefined) {
      steps.push({ node, label, op, wanted });
      continue;
    }
    fusedRelu.add(relu);
    steps.push({ node: { ...node, output: [nodes[relu]!.output![0]!] }, label, op: convReluOp, wanted });
  }
  return steps;
}

/** The one non-constant graph input and its dims at the training batch. */
function imageInput(model: OnnxModel, batch: number): { inputName: string; inputDims: number[] } {
  const inputs = (model.graph.input ?? []).filter((i) => !model.constants.has(i.name ?? ''));
  const input = inputs[0];
  if (inputs.length !== 1 || !input?.name) throw new HalocError('UNSUPPORTED', `tensorflow.js training: the model must have exactly one input, it has ${inputs.length}`);
  const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => ((d as { value?: string }).value === 'dimValue' ? int64ToNumber(d.dimValue) : undefined));
  const rest = dims.slice(1);
  if (dims.length < 2 || rest.some((d) => d === undefined)) throw new HalocError('UNSUPPORTED', `tensorflow.js training: input '${input.name}' needs static dims after the batch`);
  if (input.type?.tensorType?.elemType !== 1) throw new HalocError('UNSUPPORTED', `tensorflow.js training: input '${input.name}' must be float32`);
  return { inputName: input.name, inputDims: [batch, ...(rest as number[])] };
}

function checkTrainable(model: OnnxModel, trainable: ReadonlySet<string>): void {
  for (const name of trainable) {
    const constant = model.constants.get(name);
    if (!constant || constant.origin.kind !== 'initializer' || !isFloatType(constant.dataType)) {
      throw new HalocError('BAD_ARGUMENT', `tensorflow.js training: '${name}' is not a float initializer of the model and cannot be trained`);
    }
  }
}

/** Nodes computed at run time: those not folded to constants or static integer values. */
function executedNodes(model: OnnxModel, shapes: ShapeInference, inputName: string, trainable: ReadonlySet<string>, staticInts: ReadonlyMap<string, readonly number[]>): Set<number> {
  const nodes = model.graph.node ?? [];
  const dynamic = new Set<string>([inputName, ...trainable]);
  const executed = new Set<number>();
  for (const i of shapes.order) {
    const node = nodes[i]!;
    const inputsDynamic = (node.input ?? []).some((name) => dynamic.has(name));
    const outputs = (node.output ?? []).filter((name) => name);
    const folded = outputs.every((name) => (model.constants.has(name) && !inputsDynamic) || (staticInts.has(name) && !isFloatType(shapes.values.get(name)?.elemType ?? 0)));
    if (folded) continue;
    executed.add(i);
    for (const name of outputs) dynamic.add(name);
  }
  return executed;
}

/** The logits: the first graph output, or the input of the Softmax that produces it. */
function logitsOf(graph: onnx.IGraphProto, nodes: readonly onnx.INodeProto[], producer: ReadonlyMap<string, number>): string {
  const output = graph.output?.[0]?.name;
  if (!output) throw new HalocError('UNSUPPORTED', 'tensorflow.js training: the model has no output');
  const last = nodes[producer.get(output) ?? -1];
  return last?.opType === 'Softmax' && last.input?.[0] ? last.input[0] : output;
}

/** Executed nodes that the logits depend on. */
function neededNodes(nodes: readonly onnx.INodeProto[], producer: ReadonlyMap<string, number>, executed: ReadonlySet<number>, logits: string): Set<number> {
  const needed = new Set<number>();
  const pending = [logits];
  while (pending.length > 0) {
    const index = producer.get(pending.pop()!);
    if (index === undefined || !executed.has(index) || needed.has(index)) continue;
    needed.add(index);
    for (const name of nodes[index]!.input ?? []) if (name) pending.push(name);
  }
  return needed;
}

function classCount(shapes: ShapeInference, logits: string): number {
  const dims = shapes.values.get(logits)?.dims;
  if (!dims || dims.length < 2 || dims.some((d) => typeof d !== 'number')) throw new HalocError('UNSUPPORTED', `tensorflow.js training: the logits '${logits}' need a static shape [batch, classes]`);
  return (dims.slice(1) as number[]).reduce((p, d) => p * d, 1);
}

/** How many node inputs and graph outputs read each tensor. */
function consumerCounts(graph: onnx.IGraphProto, nodes: readonly onnx.INodeProto[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (name: string | null | undefined): void => void (name && counts.set(name, (counts.get(name) ?? 0) + 1));
  for (const node of nodes) for (const name of node.input ?? []) add(name);
  for (const output of graph.output ?? []) add(output.name);
  return counts;
}

/** The index of a Relu that alone reads this Conv's output, if any. */
function fusableRelu(nodes: readonly onnx.INodeProto[], conv: onnx.INodeProto, needed: ReadonlySet<number>, consumers: ReadonlyMap<string, number>, logits: string): number | undefined {
  const y = conv.output?.[0];
  if (!y || y === logits || consumers.get(y) !== 1) return undefined;
  const index = nodes.findIndex((n) => n.opType === 'Relu' && !n.domain && n.input?.[0] === y);
  return index >= 0 && needed.has(index) ? index : undefined;
}
