// The TensorFlow.js training backend: gradients of small built models against central differences of
// the loss, with onnxruntime-node inference of the forward model as an independent oracle (Conv in
// every grouping and geometry, Gemm, MatMul, BatchNormalization in both modes, activations,
// broadcasting arithmetic, stepped Slice, Pad, Concat and the pools); the logits of the shared models
// (ResNet-20 with and without BatchNormalization, mnist-8) against onnxruntime; a small model trained
// with plain SGD to near-zero loss on a separable task; and the errors users can cause.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor, valueInfo } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { createTfjsBackend } from '../../../engine/train/tfjs/tfjsBackend';
import type { StepInputs } from '../../../engine/train/trainingBackend';
import type { BatchNormMode } from '../../../engine/train/trainingGraph';
import { expectHalocError, modelOf, randomFloats, sharedModel, sharedModelsDir } from '../testSupport';

/** A small test model: `build(true)` is the oracle form (BatchNormalization in batch-statistics mode as plain ops). */
interface GradCase {
  readonly name: string;
  readonly input: readonly number[];
  readonly classes: number;
  readonly trainable: readonly string[];
  readonly batchNorm?: BatchNormMode;
  build(oracle: boolean): GraphBuilder;
}

const ALPHA = 0.3;
const TEMPERATURE = 2;

/** The loss written out directly from its definition, in double precision. */
function referenceLoss(logits: Float32Array, batch: number, hard: Float32Array, soft: Float32Array): number {
  const k = logits.length / batch;
  let ce = 0;
  let kd = 0;
  for (let b = 0; b < batch; b++) {
    const z = Array.from(logits.subarray(b * k, (b + 1) * k));
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    const lseT = Math.log(z.reduce((s, v) => s + Math.exp(v / TEMPERATURE), 0));
    z.forEach((v, i) => {
      ce -= hard[b * k + i]! * (v - lse);
      kd -= soft[b * k + i]! * (v / TEMPERATURE - lseT);
    });
  }
  return ((1 - ALPHA) * ce) / batch + (ALPHA * TEMPERATURE * TEMPERATURE * kd) / batch;
}

/** Targets for `batch` images: one-hot labels and random teacher distributions. */
function targets(batch: number, classes: number, seed: number): { hard: Float32Array; soft: Float32Array } {
  const hard = new Float32Array(batch * classes);
  const soft = new Float32Array(batch * classes);
  const noise = randomFloats(batch * classes, seed);
  for (let b = 0; b < batch; b++) {
    hard[b * classes + (b % classes)] = 1;
    const row = Array.from(noise.subarray(b * classes, (b + 1) * classes), (v) => Math.exp(2 * v));
    const sum = row.reduce((s, v) => s + v, 0);
    row.forEach((v, i) => (soft[b * classes + i] = v / sum));
  }
  return { hard, soft };
}

/** onnxruntime inference of a model whose trainable initializers are fed as inputs. */
async function oracleOf(builder: GraphBuilder, trainable: readonly string[]): Promise<{ logits(images: Float32Array, dims: readonly number[], params: ReadonlyMap<string, Float32Array>): Promise<Float32Array>; release(): Promise<void> }> {
  const proto = builder.build();
  const graph = proto.graph!;
  const moved = (graph.initializer ?? []).filter((t) => trainable.includes(t.name ?? ''));
  const dims = new Map(moved.map((t) => [t.name ?? '', (t.dims ?? []).map(Number)]));
  const oracle = onnx.ModelProto.create({
    ...proto,
    graph: { ...graph, initializer: (graph.initializer ?? []).filter((t) => !trainable.includes(t.name ?? '')), input: [...(graph.input ?? []), ...moved.map((t) => valueInfo(t.name ?? '', DataType.FLOAT, (t.dims ?? []).map(Number)))] },
  });
  const session = await ort.InferenceSession.create(encodeOnnx(oracle), { logSeverityLevel: 3, graphOptimizationLevel: 'disabled' });
  const inputName = graph.input?.[0]?.name ?? '';
  return {
    async logits(images, imageDims, params) {
      const feeds: Record<string, ort.Tensor> = { [inputName]: new ort.Tensor('float32', images, [...imageDims]) };
      for (const [name, values] of params) feeds[name] = new ort.Tensor('float32', values, dims.get(name) ?? [values.length]);
      const out = await session.run(feeds);
      return out[session.outputNames[0]!]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}

function runningOf(model: OnnxModel): Map<string, Float32Array> {
  const running = new Map<string, Float32Array>();
  for (const node of model.graph.node ?? []) {
    if (node.opType !== 'BatchNormalization') continue;
    for (const name of [node.input?.[3], node.input?.[4]]) if (name) running.set(name, model.constants.get(name)!.toFloat32());
  }
  return running;
}

/** Checks the backend's gradients along random directions against central differences of the oracle's loss. */
async function checkGradients(kase: GradCase): Promise<{ running: ReadonlyMap<string, Float32Array>; images: Float32Array }> {
  const model = modelOf(kase.build(false));
  const batch = kase.input[0]!;
  const backend = await createTfjsBackend(model, { batch, trainable: new Set(kase.trainable), batchNorm: kase.batchNorm ?? 'running-statistics' });
  const oracle = await oracleOf(kase.build(true), kase.trainable);
  try {
    assert.equal(backend.classes, kase.classes);
    assert.deepEqual([...backend.parameters].sort(), [...kase.trainable].sort());
    const images = randomFloats(kase.input.reduce((p, d) => p * d, 1), 7);
    const { hard, soft } = targets(batch, kase.classes, 11);
    const params = new Map(kase.trainable.map((name) => [name, model.constants.get(name)!.toFloat32()]));
    const inputs: StepInputs = { images, hardTargets: hard, softTargets: soft, distillWeight: ALPHA, temperature: TEMPERATURE, params, running: runningOf(model) };
    const out = await backend.step(inputs);
    const lossAt = async (p: ReadonlyMap<string, Float32Array>): Promise<number> => referenceLoss(await oracle.logits(images, kase.input, p), batch, hard, soft);
    const oracleLogits = await oracle.logits(images, kase.input, params);
    out.logits.forEach((v, i) => assert.ok(Math.abs(v - oracleLogits[i]!) <= 1e-4 * (1 + Math.abs(oracleLogits[i]!)), `${kase.name}: logit ${i}: ${v} vs onnxruntime ${oracleLogits[i]}`));
    const loss = (1 - ALPHA) * out.crossEntropy + ALPHA * out.distillCrossEntropy;
    const reference = await lossAt(params);
    assert.ok(Math.abs(loss - reference) <= 1e-4 * Math.abs(reference), `${kase.name}: loss ${loss} vs ${reference}`);
    for (const name of kase.trainable) {
      const base = params.get(name)!;
      const grad = out.grads.get(name);
      assert.ok(grad && grad.length === base.length, `${kase.name}: gradient of ${name}`);
      for (let trial = 0; trial < 3; trial++) {
        const direction = randomFloats(base.length, 100 + trial * 17 + name.length);
        const h = 1e-3;
        const shifted = (sign: number): Map<string, Float32Array> => new Map([...params, [name, base.map((v, i) => v + sign * h * direction[i]!)]]);
        const numeric = ((await lossAt(shifted(1))) - (await lossAt(shifted(-1)))) / (2 * h);
        const analytic = grad.reduce((s, g, i) => s + g * direction[i]!, 0);
        const tolerance = 2e-2 * Math.max(Math.abs(numeric), Math.abs(analytic)) + 3e-4;
        assert.ok(Math.abs(numeric - analytic) <= tolerance, `${kase.name}: d loss / d ${name} along direction ${trial}: tfjs ${analytic}, central difference ${numeric}`);
      }
    }
    return { running: out.running, images };
  } finally {
    await backend.dispose();
    await oracle.release();
  }
}

/** A weight initializer with values in [-scale, scale). */
function weight(b: GraphBuilder, name: string, dims: readonly number[], seed: number, scale = 0.5): string {
  return b.initializer(float32Tensor(name, dims, randomFloats(dims.reduce((p, d) => p * d, 1), seed).map((v) => v * scale)));
}

/** Flatten -> Gemm(transB) to `classes` logits, from a tensor of `features` values per image. */
function head(b: GraphBuilder, x: string, features: number, classes: number): void {
  const [flat] = b.node('Flatten', [x], { axis: 1 });
  weight(b, 'fc.w', [classes, features], 91, 0.3);
  weight(b, 'fc.b', [classes], 92);
  b.node('Gemm', [flat!, 'fc.w', 'fc.b'], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits');
}

/** Input [B, C, H, W] -> one Conv with the given attributes -> head. */
function convCase(name: string, input: readonly number[], weightDims: readonly number[], attrs: Record<string, number | number[] | string>, outHW: readonly [number, number], relu = false): GradCase {
  return {
    name,
    input,
    classes: 3,
    trainable: ['conv.w', 'conv.b', 'fc.w', 'fc.b'],
    build: () => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', ...input.slice(1)]);
      weight(b, 'conv.w', weightDims, 5);
      weight(b, 'conv.b', [weightDims[0]!], 6);
      const [c] = b.node('Conv', ['x', 'conv.w', 'conv.b'], attrs);
      const y = relu ? b.node('Relu', [c!])[0]! : c!;
      head(b, y, weightDims[0]! * outHW[0] * outHW[1], 3);
      return b;
    },
  };
}

/** BatchNormalization (or, for the oracle in batch-statistics mode, the same computation in plain ops). */
function batchNorm(b: GraphBuilder, x: string, channels: number, oracle: boolean, mode: BatchNormMode): string {
  weight(b, 'bn.scale', [channels], 21);
  b.initializer(float32Tensor('bn.bias', [channels], randomFloats(channels, 22)));
  b.initializer(float32Tensor('bn.mean', [channels], randomFloats(channels, 23).map((v) => 0.2 * v)));
  b.initializer(float32Tensor('bn.var', [channels], randomFloats(channels, 24).map((v) => 1 + 0.5 * v)));
  if (!oracle || mode === 'running-statistics') return b.node('BatchNormalization', [x, 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], { epsilon: { float: 1e-3 }, momentum: { float: 0.8 } })[0]!;
  const perChannel = (name: string): string => b.node('Reshape', [name, b.initializer(int64Tensor(`${name}.shape`, [3], [channels, 1, 1]))])[0]!;
  const [mean] = b.node('ReduceMean', [x], { axes: [0, 2, 3], keepdims: 1 });
  const [centred] = b.node('Sub', [x, mean!]);
  const [square] = b.node('Mul', [centred!, centred!]);
  const [variance] = b.node('ReduceMean', [square!], { axes: [0, 2, 3], keepdims: 1 });
  const [std] = b.node('Sqrt', [b.node('Add', [variance!, b.initializer(float32Tensor('bn.eps', [], Float32Array.of(1e-3)))])[0]!]);
  const [normal] = b.node('Div', [centred!, std!]);
  return b.node('Add', [b.node('Mul', [normal!, perChannel('bn.scale')])[0]!, perChannel('bn.bias')])[0]!;
}

const gradCases: GradCase[] = [
  convCase('Conv 3x3 pad 1', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }, [5, 5]),
  convCase('Conv + Relu (fused)', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }, [5, 5], true),
  convCase('Conv grouped (2 groups), stride 2, asymmetric pads', [2, 4, 6, 5], [6, 2, 3, 3], { group: 2, strides: [2, 2], pads: [0, 1, 1, 0] }, [3, 2]),
  convCase('Conv depthwise, dilation 2', [2, 4, 7, 7], [4, 1, 3, 3], { group: 4, dilations: [2, 2], pads: [2, 2, 2, 2] }, [7, 7]),
  convCase('Conv depthwise, stride 2, asymmetric pads', [2, 3, 6, 6], [3, 1, 3, 3], { group: 3, strides: [2, 2], pads: [1, 0, 0, 1] }, [3, 3]),
  convCase('Conv depthwise with multiplier 2', [2, 2, 5, 5], [4, 1, 3, 3], { group: 2, pads: [1, 1, 1, 1] }, [5, 5]),
  convCase('Conv dilation 2, asymmetric pads, Cin < Cout', [2, 2, 7, 7], [4, 2, 3, 3], { dilations: [2, 2], pads: [2, 1, 1, 2] }, [6, 6]),
  convCase('Conv dilation 2, asymmetric pads, Cin > Cout', [2, 4, 7, 7], [2, 4, 3, 3], { dilations: [2, 2], pads: [2, 1, 1, 2] }, [6, 6]),
  convCase('Conv stride 2 and dilation 2', [2, 2, 9, 9], [3, 2, 3, 3], { strides: [2, 2], dilations: [2, 2], pads: [1, 1, 1, 1] }, [4, 4]),
  convCase('Conv 1x1 stride 2 on an odd size', [2, 3, 7, 7], [4, 3, 1, 1], { strides: [2, 2] }, [4, 4]),
  convCase('Conv stride 3, pads 2', [2, 2, 8, 8], [3, 2, 3, 3], { strides: [3, 3], pads: [2, 2, 2, 2] }, [4, 4]),
  convCase('Conv strides [2, 1], 3x1 kernel', [2, 2, 7, 5], [3, 2, 3, 1], { strides: [2, 1], pads: [1, 0, 1, 0] }, [4, 5]),
  convCase('Conv SAME_UPPER stride 2, 2x3 kernel', [2, 2, 6, 7], [3, 2, 2, 3], { strides: [2, 2], auto_pad: 'SAME_UPPER' }, [3, 4]),
  {
    name: 'BatchNormalization (running statistics) and Relu',
    input: [3, 2, 4, 4],
    classes: 3,
    trainable: ['conv.w', 'bn.scale', 'bn.bias', 'fc.w'],
    build: (oracle) => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 2, 4, 4]);
      weight(b, 'conv.w', [3, 2, 3, 3], 5);
      const [c] = b.node('Conv', ['x', 'conv.w'], { pads: [1, 1, 1, 1] });
      const [r] = b.node('Relu', [batchNorm(b, c!, 3, oracle, 'running-statistics')]);
      head(b, r!, 48, 3);
      return b;
    },
  },
  {
    name: 'BatchNormalization (batch statistics)',
    input: [3, 2, 4, 4],
    classes: 3,
    batchNorm: 'batch-statistics',
    trainable: ['bn.scale', 'bn.bias', 'conv.w', 'fc.w'],
    build: (oracle) => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 2, 4, 4]);
      const y = batchNorm(b, 'x', 2, oracle, 'batch-statistics');
      weight(b, 'conv.w', [3, 2, 3, 3], 5);
      const [c] = b.node('Conv', [y, 'conv.w'], { pads: [1, 1, 1, 1] });
      head(b, c!, 48, 3);
      return b;
    },
  },
  {
    name: 'BatchNormalization (batch statistics) between Convs',
    input: [3, 2, 4, 4],
    classes: 3,
    batchNorm: 'batch-statistics',
    trainable: ['conv0.w', 'bn.scale', 'bn.bias', 'fc.w'],
    build: (oracle) => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 2, 4, 4]);
      weight(b, 'conv0.w', [3, 2, 3, 3], 4);
      const [c0] = b.node('Conv', ['x', 'conv0.w'], { pads: [1, 1, 1, 1] });
      const [r] = b.node('Relu', [batchNorm(b, c0!, 3, oracle, 'batch-statistics')]);
      weight(b, 'conv.w', [3, 3, 3, 3], 5);
      const [c] = b.node('Conv', [r!, 'conv.w'], { pads: [1, 1, 1, 1] });
      head(b, c!, 48, 3);
      return b;
    },
  },
  {
    name: 'option-A shortcut: Slice step 2, Pad channels, Add, Relu',
    input: [2, 2, 6, 6],
    classes: 3,
    trainable: ['conv.w', 'conv.b', 'fc.w', 'fc.b'],
    build: () => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 2, 6, 6]);
      weight(b, 'conv.w', [4, 2, 3, 3], 5);
      weight(b, 'conv.b', [4], 6);
      const [c] = b.node('Conv', ['x', 'conv.w', 'conv.b'], { pads: [1, 1, 1, 1], strides: [2, 2] });
      const ints = (name: string, values: number[]): string => b.initializer(int64Tensor(name, [values.length], values));
      const [s] = b.node('Slice', ['x', ints('st', [0, 0]), ints('en', [1000, 1000]), ints('ax', [2, 3]), ints('sp', [2, 2])]);
      const [p] = b.node('Pad', [s!, ints('pads', [0, 1, 0, 0, 0, 1, 0, 0])]);
      const [sum] = b.node('Add', [c!, p!]);
      const [r] = b.node('Relu', [sum!]);
      head(b, r!, 36, 3);
      return b;
    },
  },
  {
    name: 'Slice with steps, offsets and early ends, on spatial and channel axes',
    input: [2, 2, 7, 7],
    classes: 3,
    trainable: ['conv.w', 'fc.w'],
    build: () => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 2, 7, 7]);
      weight(b, 'conv.w', [4, 2, 3, 3], 5);
      const [c] = b.node('Conv', ['x', 'conv.w'], { pads: [1, 1, 1, 1] });
      const ints = (name: string, values: number[]): string => b.initializer(int64Tensor(name, [values.length], values));
      const [spatial] = b.node('Slice', [c!, ints('st', [1, 0]), ints('en', [6, 4]), ints('ax', [2, 3]), ints('sp', [2, 2])]);
      const [channels] = b.node('Slice', [c!, ints('st2', [1]), ints('en2', [4]), ints('ax2', [1]), ints('sp2', [2])]);
      const [cat] = b.node('Concat', [b.node('Flatten', [spatial!])[0]!, b.node('Flatten', [channels!])[0]!], { axis: 1 });
      head(b, cat!, 4 * 3 * 2 + 2 * 49, 3);
      return b;
    },
  },
  {
    name: 'broadcasting Add / Mul / Sub / Div, offset Slice, Concat',
    input: [2, 3, 4, 4],
    classes: 4,
    trainable: ['conv.w', 'shift', 'gain', 'fc.w'],
    build: () => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 3, 4, 4]);
      weight(b, 'conv.w', [3, 3, 1, 1], 5);
      weight(b, 'shift', [3, 1, 1], 31);
      b.initializer(float32Tensor('gain', [1, 3, 1, 4], randomFloats(12, 32).map((v) => 1 + 0.5 * v)));
      b.initializer(float32Tensor('div', [4], Float32Array.of(1.5, 2, 2.5, 3)));
      const [c] = b.node('Conv', ['x', 'conv.w']);
      const [a] = b.node('Add', [c!, 'shift']);
      const [m] = b.node('Mul', [a!, 'gain']);
      const [s] = b.node('Sub', [m!, 'x']);
      const [d] = b.node('Div', [s!, 'div']);
      const ints = (name: string, values: number[]): string => b.initializer(int64Tensor(name, [values.length], values));
      const [sl] = b.node('Slice', [d!, ints('st', [1]), ints('en', [3]), ints('ax', [1])]);
      const [cat] = b.node('Concat', [sl!, c!], { axis: 1 });
      const [cut] = b.node('Slice', [cat!, ints('st2', [1]), ints('en2', [-1]), ints('ax2', [3])]);
      head(b, cut!, 5 * 4 * 2, 4);
      return b;
    },
  },
  {
    name: 'MaxPool, AveragePool (with and without padding counted, ceil_mode), GlobalAveragePool',
    input: [2, 2, 7, 7],
    classes: 3,
    trainable: ['conv.w', 'fc.w'],
    build: () => {
      const b = new GraphBuilder({ opset: 13 });
      b.input('x', ['N', 2, 7, 7]);
      weight(b, 'conv.w', [3, 2, 3, 3], 5);
      const [c] = b.node('Conv', ['x', 'conv.w'], { pads: [1, 1, 1, 1] });
      const [mp] = b.node('MaxPool', [c!], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
      const [ap] = b.node('AveragePool', [c!], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
      const [apc] = b.node('AveragePool', [c!], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 });
      const [ceil] = b.node('MaxPool', [c!], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
      const [ceilAvg] = b.node('AveragePool', [c!], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
      const [gap] = b.node('GlobalAveragePool', [c!]);
      const [cat] = b.node('Concat', [mp!, ap!, apc!, ceil!, ceilAvg!], { axis: 1 });
      const [flat] = b.node('Flatten', [cat!]);
      const [g] = b.node('Flatten', [gap!]);
      const [all] = b.node('Concat', [flat!, g!], { axis: 1 });
      head(b, all!, 15 * 16 + 3, 3);
      return b;
    },
  },
  {
    name: 'activations, MatMul, Transpose, Reshape, final Softmax',
    input: [3, 6],
    classes: 4,
    trainable: ['w1', 'w2', 'w3'],
    build: (oracle) => {
      const b = new GraphBuilder({ opset: 14 });
      b.input('x', ['N', 6]);
      weight(b, 'w1', [6, 8], 41, 1);
      weight(b, 'w2', [8, 8], 42, 1);
      weight(b, 'w3', [8, 4], 43, 1);
      let [h] = b.node('MatMul', ['x', 'w1']);
      const acts: [string, Record<string, number | { float: number }>][] = [['LeakyRelu', { alpha: { float: 0.1 } }], ['Sigmoid', {}], ['Tanh', {}], ['HardSigmoid', {}], ['HardSwish', {}]];
      for (const [op, attrs] of acts) {
        [h] = b.node(op, [b.node('MatMul', [h!, 'w2'])[0]!], attrs);
        [h] = b.node('Mul', [h!, b.initializer(float32Tensor(`${op}.k`, [], Float32Array.of(3)))]);
      }
      const [clip] = b.node('Clip', [h!, b.initializer(float32Tensor('lo', [], Float32Array.of(-2))), b.initializer(float32Tensor('hi', [], Float32Array.of(2.5)))]);
      const [r] = b.node('Reshape', [clip!, b.initializer(int64Tensor('shape', [3], [0, 2, 4]))]);
      const [t] = b.node('Transpose', [r!], { perm: [0, 2, 1] });
      const [back] = b.node('Reshape', [t!, b.initializer(int64Tensor('shape2', [2], [0, -1]))]);
      const [z] = b.node('MatMul', [back!, 'w3']);
      // the backend trains on the input of a final Softmax; the oracle outputs those logits
      b.node(oracle ? 'Identity' : 'Softmax', [z!], oracle ? {} : { axis: -1 }, { outputs: ['out'] });
      b.output('out');
      return b;
    },
  },
];

describe('tfjs training backend: gradients against central differences (onnxruntime oracle)', function () {
  this.timeout(120000);
  for (const kase of gradCases) {
    it(kase.name, async function () {
      const { running, images } = await checkGradients(kase);
      if (kase.batchNorm !== 'batch-statistics') assert.equal(running.size, 0);
      else if (kase.trainable.includes('conv0.w')) assert.deepEqual([...running.keys()].sort(), ['bn.mean', 'bn.var']);
      else checkRunningStatistics(running, images, kase.input);
    });
  }
});

/** New running statistics: momentum 0.8 blend with the batch mean and unbiased variance of the images per channel. */
function checkRunningStatistics(running: ReadonlyMap<string, Float32Array>, images: Float32Array, dims: readonly number[]): void {
  const [n, c, h, w] = dims as [number, number, number, number];
  const oldMean = randomFloats(c, 23).map((v) => 0.2 * v);
  const oldVar = randomFloats(c, 24).map((v) => 1 + 0.5 * v);
  for (let ch = 0; ch < c; ch++) {
    const values: number[] = [];
    for (let b = 0; b < n; b++) for (let i = 0; i < h * w; i++) values.push(images[(b * c + ch) * h * w + i]!);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const unbiased = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
    assert.ok(Math.abs(running.get('bn.mean')![ch]! - (0.8 * oldMean[ch]! + 0.2 * mean)) < 1e-5, `running mean ${ch}`);
    assert.ok(Math.abs(running.get('bn.var')![ch]! - (0.8 * oldVar[ch]! + 0.2 * unbiased)) < 1e-5, `running variance ${ch}`);
  }
}

describe('tfjs training backend: shared models against onnxruntime', function () {
  this.timeout(120000);
  before(function () {
    if (!fs.existsSync(sharedModelsDir())) {
      console.log(`    (skipped: the shared models folder ${sharedModelsDir()} is absent)`);
      this.skip();
    }
  });

  for (const fileName of ['resnet20-cifar10.onnx', 'resnet20-cifar10-unfused-bn.onnx']) {
    it(`gives the logits of onnxruntime to 1e-4 relative on ${fileName}, and gradients for every weight`, async function () {
      const file = sharedModel(fileName);
      if (!fs.existsSync(file)) this.skip();
      const model = readOnnxModel(file);
      const batch = 8;
      const trainable = new Set((model.graph.initializer ?? []).map((t) => t.name ?? '').filter((name) => name.endsWith('.weight')));
      const backend = await createTfjsBackend(model, { batch, trainable, batchNorm: 'running-statistics' });
      try {
        assert.match(backend.description, /^tensorflow\.js /);
        assert.equal(backend.classes, 10);
        const images = randomFloats(batch * 3 * 32 * 32, 3).map((v) => 2 * v);
        const { hard, soft } = targets(batch, 10, 5);
        const params = new Map([...trainable].map((name) => [name, model.constants.get(name)!.toFloat32()]));
        const out = await backend.step({ images, hardTargets: hard, softTargets: soft, distillWeight: 0, temperature: 1, params, running: runningOf(model) });
        const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
        const reference = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', images, [batch, 3, 32, 32]) }))[session.outputNames[0]!]!.data as Float32Array;
        await session.release();
        const scale = Math.max(...Array.from(reference, Math.abs));
        const worst = Math.max(...Array.from(out.logits, (v, i) => Math.abs(v - reference[i]!)));
        assert.ok(worst <= 1e-4 * scale, `largest logit difference ${worst} against a largest logit ${scale}`);
        assert.equal(out.grads.size, trainable.size);
        for (const [name, grad] of out.grads) assert.ok(grad.every(Number.isFinite) && grad.some((g) => g !== 0), `gradient of ${name}`);
      } finally {
        await backend.dispose();
      }
    });
  }

  it('runs mnist-8 (batch 1 hard-coded in a Reshape, a weight behind a Reshape) at batch 4 like onnxruntime', async function () {
    const file = sharedModel('mnist-8.onnx');
    if (!fs.existsSync(file)) this.skip();
    const model = readOnnxModel(file);
    const batch = 4;
    const trainable = new Set((model.graph.initializer ?? []).map((t) => t.name ?? '').filter((name) => model.constants.get(name)?.dataType === DataType.FLOAT));
    const backend = await createTfjsBackend(model, { batch, trainable, batchNorm: 'running-statistics' });
    try {
      const images = randomFloats(batch * 784, 9).map((v) => 127.5 * (v + 1));
      const { hard, soft } = targets(batch, 10, 5);
      const params = new Map(backend.parameters.map((name) => [name, model.constants.get(name)!.toFloat32()]));
      const out = await backend.step({ images, hardTargets: hard, softTargets: soft, distillWeight: 0, temperature: 1, params, running: new Map() });
      const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
      for (let b = 0; b < batch; b++) {
        const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', images.slice(b * 784, (b + 1) * 784), [1, 1, 28, 28]) };
        const reference = (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
        reference.forEach((v, k) => assert.ok(Math.abs(out.logits[b * 10 + k]! - v) <= 1e-4 * (1 + Math.abs(v)), `image ${b} logit ${k}: ${out.logits[b * 10 + k]} vs ${v}`));
      }
      await session.release();
      assert.ok(out.grads.get('Parameter193')?.some((g) => g !== 0), 'the MatMul weight behind a Reshape gets a gradient');
    } finally {
      await backend.dispose();
    }
  });
});

describe('tfjs training backend: training and errors', function () {
  this.timeout(120000);

  it('trains a small conv net to near-zero loss on a separable task with plain SGD', async function () {
    const b = new GraphBuilder({ opset: 13 });
    b.input('x', ['N', 1, 6, 6]);
    weight(b, 'conv.w', [4, 1, 3, 3], 51);
    b.initializer(float32Tensor('conv.b', [4], new Float32Array(4)));
    const [c] = b.node('Conv', ['x', 'conv.w', 'conv.b'], { pads: [1, 1, 1, 1] });
    const [r] = b.node('Relu', [c!]);
    head(b, r!, 4 * 36, 2);
    const model = modelOf(b);
    const batch = 16;
    const names = ['conv.w', 'conv.b', 'fc.w', 'fc.b'];
    const backend = await createTfjsBackend(model, { batch, trainable: new Set(names), batchNorm: 'running-statistics' });
    try {
      // class 1: the left half is brighter than the right half
      const noise = randomFloats(batch * 36 * 8, 77);
      const batches = Array.from({ length: 8 }, (_, k) => {
        const images = new Float32Array(batch * 36);
        const hard = new Float32Array(batch * 2);
        for (let i = 0; i < batch; i++) {
          const label = (i + k) % 2;
          hard[i * 2 + label] = 1;
          for (let p = 0; p < 36; p++) images[i * 36 + p] = 0.3 * noise[(k * batch + i) * 36 + p]! + ((p % 6 < 3) === (label === 1) ? 0.5 : -0.5);
        }
        return { images, hard };
      });
      const params = new Map(names.map((name) => [name, model.constants.get(name)!.toFloat32()]));
      let loss = Infinity;
      let first = 0;
      for (let step = 0; step < 60; step++) {
        const data = batches[step % batches.length]!;
        const out = await backend.step({ images: data.images, hardTargets: data.hard, softTargets: new Float32Array(batch * 2), distillWeight: 0, temperature: 1, params, running: new Map() });
        if (step === 0) first = out.crossEntropy;
        loss = out.crossEntropy;
        for (const [name, grad] of out.grads) params.set(name, params.get(name)!.map((v, i) => v - 0.2 * grad[i]!));
      }
      assert.ok(first > 0.3, `initial loss ${first}`);
      assert.ok(loss < 0.02, `loss after training ${loss} (from ${first})`);
    } finally {
      await backend.dispose();
    }
  });

  it('names the unsupported op and node on the path to the output', async function () {
    const b = new GraphBuilder({ opset: 13 });
    b.input('x', ['N', 4]);
    const [erf] = b.node('Erf', ['x'], {}, { name: 'the_erf' });
    weight(b, 'w', [4, 2], 1);
    b.node('MatMul', [erf!, 'w'], {}, { outputs: ['y'] });
    b.output('y');
    const error = await expectHalocError(() => createTfjsBackend(modelOf(b), { batch: 2, trainable: new Set(['w']), batchNorm: 'running-statistics' }), 'UNSUPPORTED');
    assert.match(error.message, /'Erf'.*'the_erf'/);
  });

  it('refuses to train a tensor that is not a float initializer', async function () {
    const b = new GraphBuilder({ opset: 13 });
    b.input('x', ['N', 4]);
    weight(b, 'w', [4, 2], 1);
    b.node('MatMul', ['x', 'w'], {}, { outputs: ['y'] });
    b.output('y');
    await expectHalocError(() => createTfjsBackend(modelOf(b), { batch: 2, trainable: new Set(['x']), batchNorm: 'running-statistics' }), 'BAD_ARGUMENT');
  });
});
