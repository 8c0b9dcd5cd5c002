// A finite-difference check of a training backend's parameter gradients. The reference loss is
// computed independently of the training code: the model's forward pass runs in a plain
// onnxruntime-node InferenceSession (a forward-only copy of the model whose parameters are graph
// inputs, so one session serves every perturbation; BatchNormalization in batch-statistics mode is
// rewritten as explicit ReduceMean / Sub / Div ops), and the cross-entropy and distillation loss are
// computed from its logits in float64 JavaScript. Each parameter is checked at a random sample of
// entries (central differences, retried at smaller steps where a kink of Relu, MaxPool or Clip sits
// within the step) and along one random direction over all its entries.
import * as assert from 'node:assert/strict';
import type * as OrtModule from 'onnxruntime-node';
import { inferShapes } from '../../../engine/graph/inferShapes';
import { attributeFloat } from '../../../engine/onnx/attributes';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, int64Tensor, makeAttribute, valueInfo } from '../../../engine/onnx/graphBuilder';
import type { OnnxModel } from '../../../engine/onnx/onnxModel';
import { int64ToNumber, onnx } from '../../../engine/onnx/proto';
import { seededUniform } from '../../../engine/random';
import { encodeOnnx, inlineExternalData } from '../../../engine/onnx/writeOnnx';
import { createOrtBackend } from '../../../engine/train/ortBackend';
import { trainableInitializers } from '../../../engine/train/stepGraph';
import type { BackendSpec, StepOutputs, TrainingBackend } from '../../../engine/train/trainingBackend';
import type { BatchNormMode } from '../../../engine/train/trainingGraph';

/** Builds the backend under test. */
export type BackendFactory = (model: OnnxModel, spec: BackendSpec) => Promise<TrainingBackend>;

/** The onnxruntime-node backend on one thread (the tests' models are tiny). */
export const ortBackendFactory: BackendFactory = (model, spec) => createOrtBackend(model, spec, { threads: 1 });

/** What the loss is computed against. */
export interface LossTargets {
  /** [batch, classes]. */
  readonly hardTargets: Float32Array;
  /** [batch, classes]; zeros when not distilling. */
  readonly softTargets: Float32Array;
  readonly distillWeight: number;
  readonly temperature: number;
}

/** The loss of some logits, in float64. */
export interface LossValues {
  readonly crossEntropy: number;
  readonly distillCrossEntropy: number;
  /** (1 - alpha) * crossEntropy + alpha * distillCrossEntropy. */
  readonly total: number;
}

/** log softmax of `values` (float64). */
function logSoftmax(values: readonly number[]): number[] {
  const max = Math.max(...values);
  const logSum = Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return values.map((v) => v - logSum);
}

/** softmax of each row of `logits` [rows, classes] divided by `temperature` (a teacher's soft targets). */
export function softmaxRows(logits: ArrayLike<number>, classes: number, temperature = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const row = Array.from({ length: classes }, (_, k) => logits[r * classes + k]! / temperature);
    logSoftmax(row).forEach((l, k) => (out[r * classes + k] = Math.exp(l)));
  }
  return out;
}

/** Mean cross-entropy to the hard targets and mean T^2 * cross-entropy of softmax(logits / T) to the soft targets. */
export function lossOf(logits: ArrayLike<number>, batch: number, classes: number, targets: LossTargets): LossValues {
  const t = targets.temperature;
  let ce = 0;
  let kd = 0;
  for (let b = 0; b < batch; b++) {
    const row = Array.from({ length: classes }, (_, k) => logits[b * classes + k]!);
    const logP = logSoftmax(row);
    const logPT = logSoftmax(row.map((v) => v / t));
    for (let k = 0; k < classes; k++) {
      ce -= targets.hardTargets[b * classes + k]! * logP[k]!;
      kd -= targets.softTargets[b * classes + k]! * logPT[k]!;
    }
  }
  ce /= batch;
  kd = (kd / batch) * t * t;
  return { crossEntropy: ce, distillCrossEntropy: kd, total: (1 - targets.distillWeight) * ce + targets.distillWeight * kd };
}

// ---------------------------------------------------------------------------------------------
// The independent forward pass

/** The logits tensor of a model: its first output, or the input of a final Softmax / LogSoftmax. */
export function logitsName(model: OnnxModel): string {
  const output = model.graph.output?.[0]?.name ?? '';
  const producer = (model.graph.node ?? []).find((n) => n.output?.includes(output));
  if (producer && (producer.opType === 'Softmax' || producer.opType === 'LogSoftmax')) return producer.input?.[0] ?? '';
  return output;
}

/**
 * BatchNormalization with batch statistics as plain ops: y = (x - mean) / sqrt(var + eps) * scale + bias,
 * mean and (biased) var over every axis but 1. Written in ops whose form is the same from opset 9 to
 * 17 (ReduceMean's axes became an input at 18).
 */
function batchStatisticsNodes(node: onnx.INodeProto, rank: number, opset: number, initializers: onnx.ITensorProto[]): onnx.INodeProto[] {
  const [x = '', scale = '', bias = ''] = node.input ?? [];
  const y = node.output?.[0] ?? '';
  const p = `gradcheck_bn/${y}`;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const eps = attributeFloat(node, 'epsilon', 1e-5);
  initializers.push(float32Tensor(`${p}/eps`, [], Float32Array.of(eps)));
  initializers.push(int64Tensor(`${p}/channel_shape`, [rank - 1], [-1, ...new Array<number>(rank - 2).fill(1)]));
  const nodes: onnx.INodeProto[] = [];
  const add = (opType: string, inputs: string[], output: string, attributes: onnx.IAttributeProto[] = []): string => {
    nodes.push({ name: `${output}/node`, opType, input: inputs, output: [output], attribute: attributes });
    return output;
  };
  const reduceMean = (input: string, output: string): string => {
    if (opset >= 18) {
      initializers.push(int64Tensor(`${p}/axes`, [axes.length], axes));
      return add('ReduceMean', [input, `${p}/axes`], output, [makeAttribute('keepdims', 1)]);
    }
    return add('ReduceMean', [input], output, [makeAttribute('axes', axes), makeAttribute('keepdims', 1)]);
  };
  const mean = reduceMean(x, `${p}/mean`);
  const centred = add('Sub', [x, mean], `${p}/centred`);
  const variance = reduceMean(add('Mul', [centred, centred], `${p}/square`), `${p}/var`);
  const std = add('Sqrt', [add('Add', [variance, `${p}/eps`], `${p}/var_eps`)], `${p}/std`);
  const xhat = add('Div', [centred, std], `${p}/xhat`);
  const gamma = add('Reshape', [scale, `${p}/channel_shape`], `${p}/gamma`);
  const beta = add('Reshape', [bias, `${p}/channel_shape`], `${p}/beta`);
  add('Add', [add('Mul', [xhat, gamma], `${p}/scaled`), beta], y);
  return nodes;
}

/** The forward-only model: `parameters` become graph inputs; the outputs are the logits and `extraOutputs`. */
export function forwardModelProto(model: OnnxModel, parameters: readonly string[], batchNorm: BatchNormMode, extraOutputs: readonly string[] = []): onnx.ModelProto {
  const graph = inlineExternalData(model.proto, model.constants).graph ?? {};
  const asInput = new Set(parameters);
  const initializers = (graph.initializer ?? []).filter((t) => !asInput.has(t.name ?? ''));
  const byName = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const needsRanks = batchNorm === 'batch-statistics' && (graph.node ?? []).some((n) => n.opType === 'BatchNormalization');
  const shapes = needsRanks ? inferShapes(model, { batch: 1 }).values : undefined;
  const nodes = (graph.node ?? []).flatMap((node) => {
    if (node.opType !== 'BatchNormalization' || batchNorm !== 'batch-statistics') return [node];
    const rank = shapes?.get(node.input?.[0] ?? '')?.dims?.length;
    if (rank === undefined) throw new Error(`gradient check: no rank for the input of BatchNormalization '${node.name ?? ''}'`);
    return batchStatisticsNodes(node, rank, model.opsetVersion, initializers);
  });
  const declared = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const paramInputs = parameters.filter((name) => !declared.has(name)).map((name) => {
    const tensor = byName.get(name);
    if (!tensor) throw new Error(`gradient check: parameter '${name}' is not an initializer`);
    return valueInfo(name, DataType.FLOAT, (tensor.dims ?? []).map((d) => int64ToNumber(d)));
  });
  const outputs = [logitsName(model), ...extraOutputs].map((name) => onnx.ValueInfoProto.create({ name }));
  return onnx.ModelProto.create({
    irVersion: model.proto.irVersion,
    producerName: 'haloc-gradient-check',
    opsetImport: model.proto.opsetImport,
    graph: { name: 'forward', node: nodes, initializer: initializers, input: [...(graph.input ?? []), ...paramInputs], output: outputs },
  });
}

/** A forward-only session of a model with its parameters as inputs. */
export interface ForwardModel {
  /** Logits [batch, classes] and every extra output, by name. */
  run(images: Float32Array, params: ReadonlyMap<string, Float32Array>): Promise<Map<string, Float32Array>>;
  release(): Promise<void>;
}

/** The image input of a model: its one graph input that is not an initializer, at `batch`. */
export function imageInputOf(model: OnnxModel, batch: number): { name: string; dims: number[] } {
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (model.graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  assert.equal(inputs.length, 1, 'gradient check: the model must have one data input');
  const input = inputs[0]!;
  const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d, i) => (i === 0 ? batch : int64ToNumber(d.dimValue)));
  assert.ok(dims.slice(1).every((d) => d > 0), `gradient check: input '${input.name ?? ''}' needs static dims besides the batch`);
  return { name: input.name ?? '', dims };
}

/** Opens the forward-only copy of `model` in onnxruntime-node. */
export async function openForward(model: OnnxModel, options: { readonly batch: number; readonly parameters: readonly string[]; readonly batchNorm: BatchNormMode; readonly extraOutputs?: readonly string[] }): Promise<ForwardModel> {
  const ort = await import('onnxruntime-node');
  const proto = forwardModelProto(model, options.parameters, options.batchNorm, options.extraOutputs ?? []);
  const session = await ort.InferenceSession.create(encodeOnnx(proto), { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  const image = imageInputOf(model, options.batch);
  const dims = new Map((model.graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).map((d) => int64ToNumber(d))]));
  return {
    async run(images, params) {
      const feeds: Record<string, OrtModule.Tensor> = { [image.name]: new ort.Tensor('float32', images, image.dims) };
      for (const name of options.parameters) feeds[name] = new ort.Tensor('float32', params.get(name)!, dims.get(name)!);
      const out = await session.run(feeds);
      return new Map(Object.entries(out).map(([name, tensor]) => [name, tensor.data as Float32Array]));
    },
    release: () => session.release(),
  };
}

// ---------------------------------------------------------------------------------------------
// The check

/** One case: a model, its batch and the step's inputs. */
export interface GradientCheckCase {
  readonly batch: number;
  /** [batch, ...input dims]. */
  readonly images: Float32Array;
  readonly hardTargets: Float32Array;
  /** Zeros by default. */
  readonly softTargets?: Float32Array;
  /** alpha; 0 by default. */
  readonly distillWeight?: number;
  /** 1 by default. */
  readonly temperature?: number;
  /** 'running-statistics' by default. */
  readonly batchNorm?: BatchNormMode;
  /** trainableInitializers(model) by default. */
  readonly trainable?: ReadonlySet<string>;
  readonly factory?: BackendFactory;
  /** Entries checked per parameter (all when it has fewer); 20 by default. */
  readonly samples?: number;
  /** Finite-difference step; 1e-2 by default. */
  readonly eps?: number;
  /** Relative tolerance; 2e-2 by default. */
  readonly rtol?: number;
  /** Absolute tolerance; 1e-3 by default. */
  readonly atol?: number;
  readonly seed?: number;
}

/** One compared value: entry `index` of a parameter, or (index -1) the derivative along a random direction. */
export interface EntryCheck {
  readonly parameter: string;
  readonly index: number;
  readonly grad: number;
  readonly fd: number;
  /** |fd - grad| / (rtol * max(|fd|, |grad|) + atol): at most 1 passes. */
  readonly ratio: number;
  /** The step that was used (smaller than eps after retries near a kink). */
  readonly step: number;
}

/** Everything one check measured. */
export interface GradientCheckReport {
  readonly parameters: readonly string[];
  readonly step: StepOutputs;
  /** The loss from the independent forward pass at the unperturbed parameters. */
  readonly reference: LossValues;
  /** Largest |backend logit - reference logit|. */
  readonly logitsError: number;
  readonly checks: readonly EntryCheck[];
  readonly failures: readonly EntryCheck[];
  /** The check of each parameter with the largest ratio. */
  readonly worst: ReadonlyMap<string, EntryCheck>;
}

/** A deterministic generator of floats in [0, 1) (mulberry32: nearby seeds give unrelated sequences). */
export const randomGenerator = seededUniform;

/** `count` distinct indices below `size` (all of them when size <= count), sorted. */
function sampleIndices(size: number, count: number, random: () => number): number[] {
  if (size <= count) return Array.from({ length: size }, (_, i) => i);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random() * size));
  return [...chosen].sort((a, b) => a - b);
}

/** The initial values of the model's float initializers (copies). */
export function initializerValues(model: OnnxModel, names: Iterable<string>): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const name of names) {
    const constant = model.constants.get(name);
    if (!constant) throw new Error(`gradient check: no initializer '${name}'`);
    values.set(name, Float32Array.from(constant.toFloat32()));
  }
  return values;
}

/** The BatchNormalization running statistics (mean and variance inputs) of a model, by name. */
export function runningStatistics(model: OnnxModel): Map<string, Float32Array> {
  const names = (model.graph.node ?? []).filter((n) => n.opType === 'BatchNormalization').flatMap((n) => [n.input?.[3] ?? '', n.input?.[4] ?? '']);
  return initializerValues(model, names.filter((n) => model.constants.has(n)));
}

/**
 * The central difference at step `eps`; where it disagrees, again at eps / 4, / 16, / 64 and / 256
 * (a kink of Relu, MaxPool's argmax or Clip within the step spoils a difference; a smaller step
 * crosses it less often, while a wrong gradient disagrees at every step). Returns the first that
 * agrees, else the closest.
 */
async function withSmallerSteps(eps: number, difference: (h: number) => Promise<number>, ratio: (fd: number) => number): Promise<{ fd: number; step: number }> {
  let best = { fd: Number.NaN, step: eps, ratio: Number.POSITIVE_INFINITY };
  for (const h of [eps, eps / 4, eps / 16, eps / 64, eps / 256]) {
    const fd = await difference(h);
    const r = ratio(fd);
    if (r <= 1) return { fd, step: h };
    if (r < best.ratio) best = { fd, step: h, ratio: r };
  }
  return best;
}

/** Runs one backend step and compares its gradients with central differences of the independent loss. */
export async function checkGradients(model: OnnxModel, c: GradientCheckCase): Promise<GradientCheckReport> {
  const batchNorm = c.batchNorm ?? 'running-statistics';
  const trainable = c.trainable ?? new Set(trainableInitializers(model));
  const factory = c.factory ?? ortBackendFactory;
  const eps = c.eps ?? 1e-2;
  const rtol = c.rtol ?? 2e-2;
  const atol = c.atol ?? 1e-3;
  const random = randomGenerator(c.seed ?? 12345);
  const backend = await factory(model, { batch: c.batch, trainable, batchNorm });
  const classes = backend.classes;
  const targets: LossTargets = {
    hardTargets: c.hardTargets,
    softTargets: c.softTargets ?? new Float32Array(c.batch * classes),
    distillWeight: c.distillWeight ?? 0,
    temperature: c.temperature ?? 1,
  };
  const parameters = [...backend.parameters];
  const params = initializerValues(model, parameters);
  let forward: ForwardModel | undefined;
  try {
    const step = await backend.step({ images: c.images, ...targets, params: initializerValues(model, parameters), running: runningStatistics(model) });
    const fwd = await openForward(model, { batch: c.batch, parameters, batchNorm });
    forward = fwd;
    const logitsOut = logitsName(model);
    const lossAt = async (): Promise<number> => lossOf((await fwd.run(c.images, params)).get(logitsOut)!, c.batch, classes, targets).total;
    const base = (await fwd.run(c.images, params)).get(logitsOut)!;
    assert.equal(base.length, c.batch * classes, 'gradient check: logits size');
    const reference = lossOf(base, c.batch, classes, targets);
    const logitsError = Math.max(...Array.from(base, (v, i) => Math.abs(v - step.logits[i]!)));
    const ratioOf = (grad: number, fd: number): number => Math.abs(fd - grad) / (rtol * Math.max(Math.abs(fd), Math.abs(grad)) + atol);

    const checks: EntryCheck[] = [];
    for (const name of parameters) {
      const value = params.get(name)!;
      const grad = step.grads.get(name);
      assert.ok(grad, `gradient check: the backend returned no gradient for '${name}'`);
      assert.equal(grad.length, value.length, `gradient check: gradient of '${name}' has ${grad.length} entries, the parameter ${value.length}`);
      assert.ok(grad.every(Number.isFinite), `gradient check: gradient of '${name}' is not finite`);
      // single entries: (L(p + h+) - L(p - h-)) / (h+ + h-) with the steps as float32 can represent them
      const entryFd = async (i: number, h: number): Promise<number> => {
        const original = value[i]!;
        value[i] = original + h;
        const up = value[i]! - original;
        const plus = await lossAt();
        value[i] = original - h;
        const down = original - value[i]!;
        const minus = await lossAt();
        value[i] = original;
        return (plus - minus) / (up + down);
      };
      for (const i of sampleIndices(value.length, c.samples ?? 20, random)) {
        const { fd, step: used } = await withSmallerSteps(eps, (h) => entryFd(i, h), (fd) => ratioOf(grad[i]!, fd));
        checks.push({ parameter: name, index: i, grad: grad[i]!, fd, ratio: ratioOf(grad[i]!, fd), step: used });
      }
      // one random unit direction over all entries: d/dt L(p + t v) = grad . v
      const original = Float32Array.from(value);
      const direction = Array.from(value, () => random() * 2 - 1);
      const norm = Math.sqrt(direction.reduce((s, d) => s + d * d, 0));
      const unit = direction.map((d) => d / norm);
      const along = unit.reduce((s, d, i) => s + d * grad[i]!, 0);
      const lossAlong = async (t: number): Promise<number> => {
        value.forEach((_, i) => (value[i] = original[i]! + t * unit[i]!));
        return lossAt();
      };
      const { fd: fdAlong, step: usedAlong } = await withSmallerSteps(eps, async (h) => ((await lossAlong(h)) - (await lossAlong(-h))) / (2 * h), (fd) => ratioOf(along, fd));
      value.set(original);
      checks.push({ parameter: name, index: -1, grad: along, fd: fdAlong, ratio: ratioOf(along, fdAlong), step: usedAlong });
    }
    const worst = new Map<string, EntryCheck>();
    for (const check of checks) if (!worst.has(check.parameter) || worst.get(check.parameter)!.ratio < check.ratio) worst.set(check.parameter, check);
    return { parameters, step, reference, logitsError, checks, failures: checks.filter((k) => !(k.ratio <= 1)), worst };
  } finally {
    await forward?.release();
    await backend.dispose();
  }
}

function describeCheck(check: EntryCheck): string {
  const where = check.index < 0 ? 'along a random direction' : `[${check.index}]`;
  return `${check.parameter}${where}: backend ${check.grad.toExponential(4)}, finite difference ${check.fd.toExponential(4)} (|diff| ${Math.abs(check.fd - check.grad).toExponential(2)}, ${check.ratio.toFixed(2)}x the tolerance, step ${check.step})`;
}

/** One line per parameter: the worst comparison (for logs and reports). */
export function summarize(report: GradientCheckReport): string {
  return [...report.worst.values()].map(describeCheck).join('\n');
}

/** Fails with every mismatching entry when the backend's loss, logits or gradients disagree with the reference. */
export function assertGradientsMatch(report: GradientCheckReport): void {
  const scale = Math.max(1, ...Array.from(report.step.logits, Math.abs));
  assert.ok(report.logitsError <= 1e-4 * scale, `backend logits differ from the forward model's by ${report.logitsError}`);
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b));
  assert.ok(close(report.step.crossEntropy, report.reference.crossEntropy), `backend cross-entropy ${report.step.crossEntropy}, reference ${report.reference.crossEntropy}`);
  assert.ok(close(report.step.distillCrossEntropy, report.reference.distillCrossEntropy), `backend distillation term ${report.step.distillCrossEntropy}, reference ${report.reference.distillCrossEntropy}`);
  if (report.failures.length > 0) {
    const lines = report.failures.slice(0, 12).map(describeCheck);
    assert.fail(`${report.failures.length} of ${report.checks.length} gradient entries disagree with finite differences:\n  ${lines.join('\n  ')}`);
  }
  if (process.env.HALOC_GRADCHECK_VERBOSE) console.log(`      ${summarize(report).replace(/\n/g, '\n      ')}`);
}

/** checkGradients, then assertGradientsMatch; returns the report. */
export async function expectGradientsMatch(model: OnnxModel, c: GradientCheckCase): Promise<GradientCheckReport> {
  const report = await checkGradients(model, c);
  assertGradientsMatch(report);
  return report;
}
