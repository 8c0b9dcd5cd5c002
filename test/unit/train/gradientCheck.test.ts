// Each training backend's gradients (onnxruntime graphs, TensorFlow.js), op by op and attribute by attribute, against central
// finite differences of a loss computed independently (a plain onnxruntime-node forward session of
// the model with its parameters as inputs, and the loss in float64 JavaScript): Conv in every
// geometry, Gemm and MatMul in every form, BatchNormalization in both modes (with the running
// statistics checked against a JavaScript computation), every activation, broadcasting arithmetic,
// the pools, the shape ops, residual accumulation, distillation, old opsets whose attributes became
// inputs; and the errors and omissions of parameters off the path or behind an op without gradient.
import * as assert from 'node:assert/strict';
import { inferShapes } from '../../../engine/graph/inferShapes';
import { float32Tensor, GraphBuilder, int64Tensor, type AttributeValue } from '../../../engine/onnx/graphBuilder';
import type { OnnxModel } from '../../../engine/onnx/onnxModel';
import { trainableInitializers } from '../../../engine/train/stepGraph';
import { createTfjsBackend } from '../../../engine/train/tfjs/tfjsBackend';
import { expectHalocError, modelOf, randomFloats } from '../testSupport';
import { checkGradients, expectGradientsMatch, imageInputOf, openForward, ortBackendFactory, randomGenerator, runningStatistics, softmaxRows, type BackendFactory, type GradientCheckCase, type GradientCheckReport } from './gradientCheck';

const CLASSES = 3;
/** Varies every parameter, image and sample (HALOC_GRADCHECK_SEED=n) to look for flaky comparisons. */
const SEED = Number(process.env.HALOC_GRADCHECK_SEED ?? 0);
/** A large Slice end ("to the end of the axis"), exactly representable as a double. */
const END = 2 ** 62;

/** A small model under construction: random parameters, ops, and a Flatten + Gemm head that makes the logits. */
class Net {
  readonly builder: GraphBuilder;
  readonly x = 'x';
  private seed = 1 + 1000 * SEED;
  private count = 0;
  /** Values of the next parameter: a hashed seed per parameter, so that parameters are not correlated. */
  private nextValues(count: number): Float32Array {
    const random = randomGenerator(Math.imul(this.seed++, 0x9e3779b1) ^ 0x5bd1e995);
    return Float32Array.from({ length: count }, () => random() * 2 - 1);
  }

  constructor(
    readonly inputDims: readonly number[],
    readonly opset = 13,
  ) {
    this.builder = new GraphBuilder({ opset });
    this.builder.input(this.x, ['N', ...inputDims]);
  }

  /** A float initializer with values uniform in [offset - scale, offset + scale). */
  param(name: string, dims: readonly number[], scale = 1, offset = 0): string {
    const values = this.nextValues(dims.reduce((p, d) => p * d, 1)).map((v) => offset + scale * v);
    return this.builder.initializer(float32Tensor(name, dims, values));
  }

  floats(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.builder.initializer(float32Tensor(name, dims, Float32Array.from(values)));
  }

  ints(name: string, values: readonly number[]): string {
    return this.builder.initializer(int64Tensor(name, [values.length], values));
  }

  /** Adds a node; returns its first output. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, outputCount = 1): string {
    return this.builder.node(opType, inputs, attributes, { name: `${opType}${this.count++}`, outputCount })[0]!;
  }

  /** A Conv with weight `${name}_w` [cout, cin / group, kh, kw] (fan-in scaled) and bias `${name}_b` unless `bias` is false. */
  conv(x: string, name: string, cin: number, cout: number, kernel: readonly number[], attributes: Readonly<Record<string, AttributeValue>> = {}, bias = true): string {
    const group = typeof attributes['group'] === 'number' ? attributes['group'] : 1;
    const fanIn = (cin / group) * kernel.reduce((p, k) => p * k, 1);
    const w = this.param(`${name}_w`, [cout, cin / group, ...kernel], Math.sqrt(3 / fanIn));
    const inputs = bias ? [x, w, this.param(`${name}_b`, [cout], 0.2)] : [x, w];
    return this.op('Conv', inputs, attributes);
  }

  /** A Gemm [.., inF] x W [inF, outF] + C [outF]. */
  gemm(x: string, name: string, inF: number, outF: number, scale = Math.sqrt(3 / inF)): string {
    return this.op('Gemm', [x, this.param(`${name}_w`, [inF, outF], scale), this.param(`${name}_c`, [outF], 0.2)]);
  }

  /** The static dims of a tensor (by the engine's shape inference at batch 2). */
  dims(name: string): number[] {
    const dims = inferShapes(modelOf(this.builder), { batch: 2 }).values.get(name)?.dims;
    assert.ok(dims && dims.every((d) => typeof d === 'number'), `no static dims for '${name}'`);
    return dims as number[];
  }

  /** Flatten + Gemm to the classes; declares the logits as the output. */
  head(x: string, classes = CLASSES): OnnxModel {
    const dims = this.dims(x);
    const features = dims.slice(1).reduce((p, d) => p * d, 1);
    const flat = dims.length === 2 ? x : this.op('Flatten', [x], { axis: 1 });
    const logits = this.op('Gemm', [flat, this.param('head_w', [features, classes], 2 * Math.sqrt(3 / features)), this.param('head_c', [classes], 0.2)]);
    this.builder.output(logits, ['N', classes]);
    return this.model();
  }

  model(): OnnxModel {
    return modelOf(this.builder);
  }
}

/** Options of one check besides the model. */
interface CheckOptions extends Partial<GradientCheckCase> {
  /** The parameters that must receive gradients (default: every trainable initializer). */
  readonly expectParameters?: readonly string[];
}

function oneHot(batch: number, classes = CLASSES): Float32Array {
  const targets = new Float32Array(batch * classes);
  for (let b = 0; b < batch; b++) targets[b * classes + ((b * 7 + 1) % classes)] = 1;
  return targets;
}

function imagesFor(model: OnnxModel, batch: number, seed = 99): Float32Array {
  const random = randomGenerator(seed + 7919 * SEED);
  return Float32Array.from({ length: imageInputOf(model, batch).dims.reduce((p, d) => p * d, 1) }, () => random() * 2 - 1);
}

/** The backends under test; `active` is the one of the running suite. */
const backends: readonly (readonly [string, BackendFactory])[] = [
  ['onnxruntime', ortBackendFactory],
  ['tensorflow.js', (model, spec) => createTfjsBackend(model, spec)],
];
let active: BackendFactory = ortBackendFactory;

/**
 * What TensorFlow.js does not train through (each is a clear UNSUPPORTED error there, checked in
 * tfjsBackend.test.ts for one op): 1-D convs, ReduceMean/ReduceSum, LogSoftmax, AveragePool with
 * ceil_mode and count_include_pad together, the old-opset forms, and ops without a gradient anywhere
 * on the forward path; it supports reflect Pad, and rejects trainable names that are not initializers.
 */
const notOnTfjs = [
  '1-D conv', 'broadcast both ways', 'per-image scalar activation', 'ceil_mode (6x6', 'AveragePool 1-D', 'ReduceMean', 'ReduceSum', 'option-A downsampling block',
  'final LogSoftmax', 'opset 11:', 'opset 9:', 'reflect mode', 'the same op before every trainable parameter', 'off the path to the logits is absent',
];

/** Checks every parameter gradient of `model`; returns the report. */
async function check(model: OnnxModel, options: CheckOptions = {}): Promise<GradientCheckReport> {
  const batch = options.batch ?? 2;
  const report = await expectGradientsMatch(model, { seed: 12345 + SEED, factory: active, ...options, batch, images: options.images ?? imagesFor(model, batch), hardTargets: options.hardTargets ?? oneHot(batch) });
  const expected = options.expectParameters ?? [...(options.trainable ?? trainableInitializers(model))];
  assert.deepEqual([...report.parameters].sort(), [...expected].sort(), 'the parameters that receive gradients');
  return report;
}

// ---------------------------------------------------------------------------------------------

for (const [label, factory] of backends) {
describe(`training gradients: ${label} backend against finite differences`, function () {
  this.timeout(120000);
  before(() => (active = factory));
  beforeEach(function () {
    const title = this.currentTest?.title ?? '';
    if (label === 'tensorflow.js' && notOnTfjs.some((part) => title.includes(part))) this.skip();
  });

  describe('Conv', () => {
    /** x [N, 3, h, w] -> 1x1 Conv (3 -> cin) -> the Conv under test -> head: the pre-conv's gradient checks dX. */
    async function convCase(o: { cin?: number; cout?: number; kernel?: readonly number[]; attributes?: Readonly<Record<string, AttributeValue>>; bias?: boolean; size?: readonly number[] }): Promise<void> {
      const cin = o.cin ?? 4;
      const net = new Net([3, ...(o.size ?? [6, 6])]);
      const pre = net.conv(net.x, 'pre', 3, cin, (o.size ?? [6, 6]).map(() => 1));
      const y = net.conv(pre, 'conv', cin, o.cout ?? 4, o.kernel ?? [3, 3], o.attributes ?? {}, o.bias ?? true);
      await check(net.head(y));
    }
    it('group 1, 3x3, pads 1', () => convCase({ attributes: { pads: [1, 1, 1, 1] } }));
    it('grouped (groups 2)', () => convCase({ cin: 4, cout: 6, attributes: { group: 2, pads: [1, 1, 1, 1] } }));
    it('depthwise (groups = channels)', () => convCase({ cin: 4, cout: 4, attributes: { group: 4, pads: [1, 1, 1, 1] } }));
    it('depthwise with a channel multiplier and stride 2', () => convCase({ cin: 3, cout: 6, attributes: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] } }));
    it('stride 2, pads 1', () => convCase({ attributes: { strides: [2, 2], pads: [1, 1, 1, 1] } }));
    it('stride 2 on an odd size (7x7)', () => convCase({ size: [7, 7], attributes: { strides: [2, 2], pads: [1, 1, 1, 1] } }));
    it('asymmetric pads [0, 1, 2, 0]', () => convCase({ attributes: { pads: [0, 1, 2, 0] } }));
    it('asymmetric pads with stride 2', () => convCase({ attributes: { strides: [2, 2], pads: [1, 0, 0, 2] } }));
    it('dilation 2', () => convCase({ size: [7, 7], attributes: { dilations: [2, 2], pads: [2, 2, 2, 2] } }));
    it('dilation 2 without pads', () => convCase({ size: [7, 7], attributes: { dilations: [2, 2] } }));
    it('auto_pad SAME_UPPER', () => convCase({ attributes: { auto_pad: 'SAME_UPPER' } }));
    it('auto_pad SAME_UPPER, stride 2, even kernel', () => convCase({ size: [7, 7], kernel: [2, 2], attributes: { auto_pad: 'SAME_UPPER', strides: [2, 2] } }));
    it('auto_pad SAME_LOWER, stride 2, even kernel', () => convCase({ size: [7, 7], kernel: [2, 2], attributes: { auto_pad: 'SAME_LOWER', strides: [2, 2] } }));
    it('auto_pad VALID', () => convCase({ attributes: { auto_pad: 'VALID' } }));
    it('1x1', () => convCase({ cout: 5, kernel: [1, 1] }));
    it('1x1 stride 2', () => convCase({ cout: 5, kernel: [1, 1], attributes: { strides: [2, 2] } }));
    it('no bias', () => convCase({ attributes: { pads: [1, 1, 1, 1] }, bias: false }));
    it('kernel 1x3', () => convCase({ kernel: [1, 3], attributes: { pads: [0, 1, 0, 1] } }));
    it('kernel 3x1 with stride [1, 2]', () => convCase({ kernel: [3, 1], attributes: { strides: [1, 2], pads: [1, 0, 1, 0] } }));
    it('grouped, stride 2, dilation 2', () => convCase({ size: [8, 8], cin: 4, cout: 4, attributes: { group: 2, strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2] } }));
    it('1-D conv (stride 2, pads 1)', () => convCase({ size: [9], kernel: [3], attributes: { strides: [2], pads: [1, 1] } }));
  });

  describe('Gemm', () => {
    /** x [N, 6] -> Gemm (6 -> 5) -> [Transpose when transA] -> the Gemm under test -> logits. */
    async function gemmCase(o: { transA: boolean; transB: boolean; c?: 'none' | 'N' | '1N' | 'MN' | 'scalar'; alpha?: number; beta?: number }): Promise<void> {
      const batch = 4;
      const net = new Net([6]);
      const h = net.gemm(net.x, 'pre', 6, 5);
      const a = o.transA ? net.op('Transpose', [h], { perm: [1, 0] }) : h;
      const w = net.param('w', o.transB ? [CLASSES, 5] : [5, CLASSES], 1.2);
      const cDims = { none: undefined, N: [CLASSES], '1N': [1, CLASSES], MN: [batch, CLASSES], scalar: [1] }[o.c ?? 'N'];
      const inputs = cDims ? [a, w, net.param('c', cDims, 0.5)] : [a, w];
      const attributes: Record<string, AttributeValue> = { transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0 };
      if (o.alpha !== undefined) attributes['alpha'] = { float: o.alpha };
      if (o.beta !== undefined) attributes['beta'] = { float: o.beta };
      const logits = net.op('Gemm', inputs, attributes);
      net.builder.output(logits, ['N', CLASSES]);
      await check(net.model(), { batch });
    }
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const name = `transA ${transA ? 1 : 0}, transB ${transB ? 1 : 0}`;
        it(`${name}, C [N]`, () => gemmCase({ transA, transB }));
        it(`${name}, no C`, () => gemmCase({ transA, transB, c: 'none' }));
        it(`${name}, alpha 0.7, beta 1.3, C [1, N]`, () => gemmCase({ transA, transB, c: '1N', alpha: 0.7, beta: 1.3 }));
      }
    }
    it('C [M, N] with beta 0.5', () => gemmCase({ transA: false, transB: true, c: 'MN', beta: 0.5 }));
    it('C [1] (scalar broadcast), alpha 2', () => gemmCase({ transA: false, transB: false, c: 'scalar', alpha: 2 }));
  });

  describe('MatMul', () => {
    it('2-D x 2-D', async () => {
      const net = new Net([6]);
      const h = net.op('MatMul', [net.x, net.param('w1', [6, 5], 0.7)]);
      const logits = net.op('MatMul', [h, net.param('w2', [5, CLASSES], 0.8)]);
      net.builder.output(logits, ['N', CLASSES]);
      await check(net.model(), { batch: 4 });
    });
    it('3-D x 2-D (both layers, so the first checks dA)', async () => {
      const net = new Net([4, 5]);
      const h = net.op('MatMul', [net.x, net.param('w1', [5, 5], 0.7)]);
      const y = net.op('MatMul', [h, net.param('w2', [5, 6], 0.7)]);
      await check(net.head(y));
    });
    it('3-D x 3-D with a broadcast batch [1, 5, 6]', async () => {
      const net = new Net([4, 5]);
      const h = net.op('MatMul', [net.x, net.param('w1', [5, 5], 0.7)]);
      const y = net.op('MatMul', [h, net.param('w2', [1, 5, 6], 0.7)]);
      await check(net.head(y));
    });
    it('parameter on the left: W [K, F] x h^T [F, N], transposed to the logits', async () => {
      const net = new Net([6]);
      const h = net.gemm(net.x, 'pre', 6, 5);
      const y = net.op('MatMul', [net.param('w', [CLASSES, 5], 0.8), net.op('Transpose', [h], { perm: [1, 0] })]);
      const logits = net.op('Transpose', [y], { perm: [1, 0] });
      net.builder.output(logits, ['N', CLASSES]);
      await check(net.model(), { batch: 4 });
    });
    it('both operands computed: h x h^T (batched, gradient accumulated)', async () => {
      const net = new Net([4, 5]);
      const h = net.op('MatMul', [net.x, net.param('w1', [5, 5], 0.7)]);
      const y = net.op('MatMul', [h, net.op('Transpose', [h], { perm: [0, 2, 1] })]);
      await check(net.head(y));
    });
  });

  describe('BatchNormalization', () => {
    /** x -> Conv -> BatchNormalization -> Relu -> head. */
    function bnNet(momentum = 0.9): { net: Net; model: OnnxModel; convOut: string } {
      const net = new Net([3, 5, 5]);
      const convOut = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const bn = net.op('BatchNormalization', [convOut, net.param('gamma', [4], 0.3, 1), net.param('beta', [4], 0.3), net.param('mean', [4], 0.2), net.param('var', [4], 0.4, 1)], { momentum: { float: momentum }, epsilon: { float: 1e-3 } });
      const model = net.head(net.op('Relu', [bn]));
      return { net, model, convOut };
    }
    it('batch statistics: gradients through the normalisation', async () => {
      const report = await check(bnNet().model, { batchNorm: 'batch-statistics', batch: 3 });
      assert.deepEqual([...report.step.running.keys()].sort(), ['mean', 'var']);
    });
    it('running statistics: gradients of the inference form; no statistics updated', async () => {
      const report = await check(bnNet().model, { batchNorm: 'running-statistics' });
      assert.equal(report.step.running.size, 0);
    });
    it('batch statistics: the new running statistics are momentum * old + (1 - momentum) * batch (unbiased variance)', async () => {
      const momentum = 0.8;
      const { model, convOut } = bnNet(momentum);
      const batch = 3;
      const report = await check(model, { batchNorm: 'batch-statistics', batch });
      const forward = await openForward(model, { batch, parameters: [], batchNorm: 'batch-statistics', extraOutputs: [convOut] });
      let x: Float32Array;
      try {
        x = (await forward.run(imagesFor(model, batch), new Map())).get(convOut)!;
      } finally {
        await forward.release();
      }
      const old = runningStatistics(model);
      const [channels, area] = [4, 25];
      const count = batch * area;
      for (let c = 0; c < channels; c++) {
        const values: number[] = [];
        for (let b = 0; b < batch; b++) for (let p = 0; p < area; p++) values.push(x[(b * channels + c) * area + p]!);
        const mean = values.reduce((s, v) => s + v, 0) / count;
        const unbiased = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (count - 1);
        const expectedMean = momentum * old.get('mean')![c]! + (1 - momentum) * mean;
        const expectedVar = momentum * old.get('var')![c]! + (1 - momentum) * unbiased;
        const gotMean = report.step.running.get('mean')![c]!;
        const gotVar = report.step.running.get('var')![c]!;
        assert.ok(Math.abs(gotMean - expectedMean) <= 1e-5 * (1 + Math.abs(expectedMean)), `channel ${c}: running mean ${gotMean}, expected ${expectedMean}`);
        assert.ok(Math.abs(gotVar - expectedVar) <= 1e-5 * (1 + Math.abs(expectedVar)), `channel ${c}: running variance ${gotVar}, expected ${expectedVar}`);
      }
    });
    it('batch statistics on a 2-D input (after a Gemm)', async () => {
      const net = new Net([6]);
      const h = net.gemm(net.x, 'pre', 6, 5);
      const bn = net.op('BatchNormalization', [h, net.param('gamma', [5], 0.3, 1), net.param('beta', [5], 0.3), net.param('mean', [5], 0.2), net.param('var', [5], 0.4, 1)]);
      await check(net.head(net.op('Tanh', [bn])), { batchNorm: 'batch-statistics', batch: 4 });
    });
    it('batch statistics with only the head trainable (the normalisation still uses the batch)', async () => {
      const { model } = bnNet();
      await check(model, { batchNorm: 'batch-statistics', batch: 3, trainable: new Set(['head_w', 'head_c']) });
    });
  });

  describe('activations', () => {
    /** x [N, 6] -> Gemm (6 -> 8, pre-activations spread by `spread`) -> activation -> head. */
    async function activationCase(build: (net: Net, h: string) => string, spread = 1.5, opset = 13): Promise<void> {
      const net = new Net([6], opset);
      const h = net.gemm(net.x, 'pre', 6, 8, (spread * Math.sqrt(3 / 6)) / 0.58);
      await check(net.head(build(net, h)), { batch: 4 });
    }
    it('Relu', () => activationCase((net, h) => net.op('Relu', [h])));
    it('LeakyRelu (alpha 0.2)', () => activationCase((net, h) => net.op('LeakyRelu', [h], { alpha: { float: 0.2 } })));
    it('Clip (min -0.5, max 0.6 as inputs)', () => activationCase((net, h) => net.op('Clip', [h, net.floats('lo', [], [-0.5]), net.floats('hi', [], [0.6])])));
    it('Clip with only a min (Relu6-like lower bound)', () => activationCase((net, h) => net.op('Clip', [h, net.floats('lo', [], [-0.3])])));
    it('Clip with only a max', () => activationCase((net, h) => net.op('Clip', [h, '', net.floats('hi', [], [0.4])])));
    it('Sigmoid', () => activationCase((net, h) => net.op('Sigmoid', [h]), 2));
    it('HardSigmoid (alpha 0.3, beta 0.4)', () => activationCase((net, h) => net.op('HardSigmoid', [h], { alpha: { float: 0.3 }, beta: { float: 0.4 } }), 3));
    it('HardSwish (all three pieces)', () => activationCase((net, h) => net.op('HardSwish', [h]), 4, 14));
    it('Tanh', () => activationCase((net, h) => net.op('Tanh', [h]), 1.5));
    it('Identity', () => activationCase((net, h) => net.op('Identity', [h])));
    it('Dropout (inference form)', () => activationCase((net, h) => net.op('Dropout', [h, net.floats('ratio', [], [0.3])])));
  });

  describe('Add, Sub, Mul, Div with broadcasting', () => {
    /** A positive denominator: Sigmoid(t) + 0.5. */
    function positive(net: Net, t: string): string {
      return net.op('Add', [net.op('Sigmoid', [t]), net.floats(`half${t}`, [1], [0.5])]);
    }
    for (const op of ['Add', 'Sub', 'Mul', 'Div'] as const) {
      const denominator = (net: Net, t: string): string => (op === 'Div' ? positive(net, t) : t);
      it(`${op}: activation [N, 4, 4, 4] with a parameter [4, 1, 1] on the right`, async () => {
        const net = new Net([3, 4, 4]);
        const h = net.conv(net.x, 'conv', 3, 4, [1, 1]);
        const p = op === 'Div' ? net.param('p', [4, 1, 1], 0.4, 1) : net.param('p', [4, 1, 1], 0.8);
        await check(net.head(net.op(op, [h, p])));
      });
      it(`${op}: a parameter [1, 4, 1] on the left, broadcast up to the activation`, async () => {
        const net = new Net([3, 4, 4]);
        const h = net.conv(net.x, 'conv', 3, 4, [1, 1]);
        await check(net.head(net.op(op, [net.param('p', [1, 4, 1], 0.8), denominator(net, h)])));
      });
      it(`${op}: two activations broadcast both ways ([N, 4, 1, 4] with [N, 1, 4, 4])`, async () => {
        const net = new Net([3, 4, 4]);
        const a = net.op('ReduceMean', [net.conv(net.x, 'c1', 3, 4, [1, 1])], { axes: [2], keepdims: 1 });
        const b = net.op('ReduceMean', [net.conv(net.x, 'c2', 3, 4, [1, 1])], { axes: [1], keepdims: 1 });
        await check(net.head(net.op(op, [a, denominator(net, b)])));
      });
    }
    it('Mul of a tensor by itself (both inputs the same)', async () => {
      const net = new Net([3, 4, 4]);
      const h = net.conv(net.x, 'conv', 3, 4, [1, 1]);
      await check(net.head(net.op('Mul', [h, h])));
    });
    it('Div of an activation by a per-image scalar activation [N, 1, 1, 1]', async () => {
      const net = new Net([3, 4, 4]);
      const h = net.conv(net.x, 'conv', 3, 4, [1, 1]);
      const s = positive(net, net.op('ReduceMean', [net.conv(net.x, 'c2', 3, 2, [1, 1])], { axes: [1, 2, 3], keepdims: 1 }));
      await check(net.head(net.op('Div', [h, s])));
    });
  });

  describe('pools', () => {
    /** x [N, 3, h, w] -> 1x1 Conv (3 -> 3) -> pool -> head. */
    async function poolCase(op: string, attributes: Readonly<Record<string, AttributeValue>>, size: readonly number[] = [6, 6]): Promise<void> {
      const net = new Net([3, ...size]);
      const h = net.conv(net.x, 'pre', 3, 3, size.map(() => 1));
      await check(net.head(net.op(op, [h], attributes)));
    }
    for (const cip of [0, 1]) {
      it(`AveragePool 3x3 stride 1 pads 1, count_include_pad ${cip}`, () => poolCase('AveragePool', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: cip }));
      it(`AveragePool 3x3 stride 2 pads 1, count_include_pad ${cip}`, () => poolCase('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: cip }));
      it(`AveragePool 3x3 stride 2 ceil_mode (6x6 -> 3x3), count_include_pad ${cip}`, () => poolCase('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, count_include_pad: cip }));
      it(`AveragePool 3x3 stride 2 pads 1 ceil_mode (6x6 -> 4x4), count_include_pad ${cip}`, () => poolCase('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: cip }));
      it(`AveragePool asymmetric pads [0, 1, 1, 0], count_include_pad ${cip}`, () => poolCase('AveragePool', { kernel_shape: [2, 3], pads: [0, 1, 1, 0], count_include_pad: cip }));
    }
    it('AveragePool 2x2 stride 2', () => poolCase('AveragePool', { kernel_shape: [2, 2], strides: [2, 2] }));
    it('AveragePool 2x2 stride 2 on an odd size (7x7, the last row and column dropped)', () => poolCase('AveragePool', { kernel_shape: [2, 2], strides: [2, 2] }, [7, 7]));
    it('AveragePool 1-D', () => poolCase('AveragePool', { kernel_shape: [3], strides: [2], pads: [1, 1] }, [9]));
    it('MaxPool 2x2 stride 2', () => poolCase('MaxPool', { kernel_shape: [2, 2], strides: [2, 2] }));
    it('MaxPool 3x3 stride 2 pads 1 (overlapping windows)', () => poolCase('MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
    it('MaxPool 3x3 stride 1 (heavily overlapping)', () => poolCase('MaxPool', { kernel_shape: [3, 3] }));
    it('GlobalAveragePool', () => poolCase('GlobalAveragePool', {}));
  });

  describe('shape ops', () => {
    /** x [N, 3, 6, 6] -> Conv 3x3 (3 -> 4) -> `build` -> head. */
    async function shapeCase(build: (net: Net, h: string) => string, opset = 13): Promise<void> {
      const net = new Net([3, 6, 6], opset);
      const h = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      await check(net.head(build(net, h)));
    }
    it('Flatten (axis 1)', () => shapeCase((net, h) => net.op('Flatten', [h], { axis: 1 })));
    it('Flatten (axis 2) then Reshape to [-1, 144]', () => shapeCase((net, h) => net.op('Reshape', [net.op('Flatten', [h], { axis: 2 }), net.ints('shape', [-1, 144])])));
    it('Reshape [0, -1]', () => shapeCase((net, h) => net.op('Reshape', [h, net.ints('shape', [0, -1])])));
    it('Reshape across axes ([N, 4, 6, 6] -> [N, 12, 12]) then MatMul', () =>
      shapeCase((net, h) => net.op('MatMul', [net.op('Reshape', [h, net.ints('shape', [0, 12, 12])]), net.param('w', [12, 5], 0.5)])));
    it('Squeeze and Unsqueeze (axes as inputs)', () =>
      shapeCase((net, h) => {
        const pooled = net.op('Squeeze', [net.op('GlobalAveragePool', [h]), net.ints('sq', [2, 3])]); // [N, 4]
        const expanded = net.op('Unsqueeze', [pooled, net.ints('unsq', [2])]); // [N, 4, 1]
        return net.op('Squeeze', [net.op('Mul', [expanded, net.param('s', [4, 1], 0.5, 1)]), net.ints('sq2', [2])]);
      }));
    it('Transpose NCHW -> NHWC', () => shapeCase((net, h) => net.op('Transpose', [h], { perm: [0, 2, 3, 1] })));
    it('Transpose with a trainable op after it', () => shapeCase((net, h) => net.conv(net.op('Transpose', [h], { perm: [0, 1, 3, 2] }), 'after', 4, 3, [1, 3], { pads: [0, 1, 0, 1] })));
    it('Concat on the channel axis (two convs of the same input)', async () => {
      const net = new Net([3, 5, 5]);
      const a = net.conv(net.x, 'c1', 3, 2, [3, 3], { pads: [1, 1, 1, 1] });
      const b = net.conv(net.x, 'c2', 3, 3, [1, 1]);
      await check(net.head(net.conv(net.op('Concat', [a, b], { axis: 1 }), 'c3', 5, 4, [3, 3], { pads: [1, 1, 1, 1] })));
    });
    it('Concat with an input that takes no gradient (the image) on axis -1', async () => {
      const net = new Net([3, 5, 5]);
      const a = net.conv(net.x, 'c1', 3, 3, [3, 3], { pads: [1, 1, 1, 1] });
      await check(net.head(net.op('Concat', [net.x, a, net.x], { axis: -1 })));
    });
    it('Slice step 2 on H and W (x[:, :, ::2, ::2], as in option-A shortcuts)', () => shapeCase((net, h) => net.op('Slice', [h, net.ints('s', [0, 0]), net.ints('e', [END, END]), net.ints('a', [2, 3]), net.ints('st', [2, 2])])));
    it('Slice step 2 with start offsets and ends inside ([1:6:2, 1:5:2])', () => shapeCase((net, h) => net.op('Slice', [h, net.ints('s', [1, 1]), net.ints('e', [6, 5]), net.ints('a', [2, 3]), net.ints('st', [2, 2])])));
    it('Slice on the channel axis ([:, 1:3])', () => shapeCase((net, h) => net.op('Slice', [h, net.ints('s', [1]), net.ints('e', [3]), net.ints('a', [1])])));
    it('Slice on the channel axis with step 2 and on W with a negative start', () =>
      shapeCase((net, h) => net.op('Slice', [h, net.ints('s', [0, -4]), net.ints('e', [4, -1]), net.ints('a', [1, -1]), net.ints('st', [2, 1])])));
    it('Slice of a 2-D tensor on its last axis with step 3', async () => {
      const net = new Net([6]);
      const h = net.gemm(net.x, 'pre', 6, 8);
      await check(net.head(net.op('Slice', [h, net.ints('s', [1]), net.ints('e', [8]), net.ints('a', [1]), net.ints('st', [3])])), { batch: 4 });
    });
    it('Pad on the channel axis (option-A shortcut: 4 -> 8 channels)', () => shapeCase((net, h) => net.op('Pad', [h, net.ints('pads', [0, 2, 0, 0, 0, 2, 0, 0])])));
    it('Pad spatial, asymmetric, constant value 0.5, then a conv', () =>
      shapeCase((net, h) => net.conv(net.op('Pad', [h, net.ints('pads', [0, 0, 1, 2, 0, 0, 2, 1]), net.floats('value', [], [0.5])]), 'after', 4, 3, [3, 3])));
    it('Pad with an axes input (opset 18)', () => shapeCase((net, h) => net.op('Pad', [h, net.ints('pads', [1, 0, 0, 2]), '', net.ints('axes', [2, 3])]), 18));
    it('ReduceMean over the spatial axes (keepdims 0)', () => shapeCase((net, h) => net.op('ReduceMean', [h], { axes: [2, 3], keepdims: 0 })));
    it('ReduceMean over the spatial axes (keepdims 1)', () => shapeCase((net, h) => net.op('ReduceMean', [h], { axes: [-2, -1], keepdims: 1 })));
    it('ReduceMean with an axes input (opset 18)', () => shapeCase((net, h) => net.op('ReduceMean', [h, net.ints('axes', [2, 3])], { keepdims: 0 }), 18));
    it('ReduceSum over channels (axes input, keepdims 1)', () => shapeCase((net, h) => net.op('ReduceSum', [h, net.ints('axes', [1])], { keepdims: 1 })));
  });

  describe('graph structure', () => {
    it('a residual block: one tensor feeds two consumers (gradients accumulate)', async () => {
      const net = new Net([3, 6, 6]);
      const h = net.op('Relu', [net.conv(net.x, 'stem', 3, 4, [3, 3], { pads: [1, 1, 1, 1] })]);
      const branch = net.conv(net.op('Relu', [net.conv(h, 'c1', 4, 4, [3, 3], { pads: [1, 1, 1, 1] })]), 'c2', 4, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const sum = net.op('Relu', [net.op('Add', [branch, h])]);
      await check(net.head(net.op('GlobalAveragePool', [sum])));
    });
    it('an option-A downsampling block: strided conv branch + x[:, :, ::2, ::2] padded to twice the channels', async () => {
      const net = new Net([3, 6, 6]);
      const h = net.op('Relu', [net.conv(net.x, 'stem', 3, 4, [3, 3], { pads: [1, 1, 1, 1] })]);
      const branch = net.conv(net.op('Relu', [net.conv(h, 'c1', 4, 8, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] })]), 'c2', 8, 8, [3, 3], { pads: [1, 1, 1, 1] });
      const sub = net.op('Slice', [h, net.ints('s', [0, 0]), net.ints('e', [END, END]), net.ints('a', [2, 3]), net.ints('st', [2, 2])]);
      const shortcut = net.op('Pad', [sub, net.ints('pads', [0, 2, 0, 0, 0, 2, 0, 0])]);
      const sum = net.op('Relu', [net.op('Add', [branch, shortcut])]);
      await check(net.head(net.op('ReduceMean', [sum], { axes: [2, 3], keepdims: 0 })));
    });
    it('one parameter used by two nodes (tied conv weights: its gradients accumulate)', async () => {
      const net = new Net([4, 6, 6]);
      const first = net.op('Relu', [net.conv(net.x, 'tied', 4, 4, [3, 3], { pads: [1, 1, 1, 1] })]);
      const second = net.op('Conv', [first, 'tied_w', 'tied_b'], { pads: [1, 1, 1, 1] });
      await check(net.head(net.op('Add', [second, first])));
    });
    it('a final LogSoftmax: the logits are its input', async () => {
      const net = new Net([6]);
      const logits = net.gemm(net.x, 'fc', 6, CLASSES, 1.5);
      net.builder.output(net.op('LogSoftmax', [logits], { axis: 1 }), ['N', CLASSES]);
      await check(net.model(), { batch: 4 });
    });
    it('a final Softmax: the logits are its input', async () => {
      const net = new Net([6]);
      const logits = net.gemm(net.x, 'fc', 6, CLASSES, 1.5);
      net.builder.output(net.op('Softmax', [logits], { axis: 1 }), ['N', CLASSES]);
      await check(net.model(), { batch: 4 });
    });
    it('only some parameters trainable: gradients flow through frozen layers', async () => {
      const net = new Net([3, 5, 5]);
      const h = net.op('Relu', [net.conv(net.x, 'c1', 3, 4, [3, 3], { pads: [1, 1, 1, 1] })]);
      const model = net.head(net.conv(h, 'c2', 4, 4, [3, 3], { pads: [1, 1, 1, 1] }));
      await check(model, { trainable: new Set(['c1_w']) });
    });
  });

  describe('loss', () => {
    /** Conv -> BatchNormalization (running) -> Relu -> MaxPool -> head. */
    function lossNet(): OnnxModel {
      const net = new Net([3, 6, 6]);
      const c = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const bn = net.op('BatchNormalization', [c, net.param('gamma', [4], 0.3, 1), net.param('beta', [4], 0.3), net.param('mean', [4], 0.2), net.param('var', [4], 0.4, 1)]);
      return net.head(net.op('MaxPool', [net.op('Relu', [bn])], { kernel_shape: [2, 2], strides: [2, 2] }));
    }
    const batch = 3;
    const teacher = softmaxRows(randomFloats(batch * CLASSES, 7).map((v) => 3 * v), CLASSES, 4);
    it('pure cross-entropy (alpha 0)', () => check(lossNet(), { batch }));
    it('distillation alpha 0.5, T 4', async () => {
      const report = await check(lossNet(), { batch, distillWeight: 0.5, temperature: 4, softTargets: teacher });
      assert.ok(report.reference.distillCrossEntropy > 0);
    });
    it('pure distillation (alpha 1, T 2)', () => check(lossNet(), { batch, distillWeight: 1, temperature: 2, softTargets: softmaxRows(randomFloats(batch * CLASSES, 8), CLASSES, 2) }));
    it('label-smoothed hard targets', () => check(lossNet(), { batch, hardTargets: oneHot(batch).map((t) => t * 0.9 + 0.1 / CLASSES) }));
    it('batch-statistics BatchNormalization with distillation', () => check(lossNet(), { batch, batchNorm: 'batch-statistics', distillWeight: 0.5, temperature: 4, softTargets: teacher }));
  });

  describe('old opsets (attributes that became inputs)', () => {
    it('opset 11: Unsqueeze / Squeeze / ReduceSum axes attributes, Clip min/max, Pad and Slice inputs', async () => {
      const net = new Net([3, 6, 6], 11);
      const c = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const clipped = net.op('Clip', [c, net.floats('lo', [], [-0.6]), net.floats('hi', [], [0.7])]);
      const summed = net.op('ReduceSum', [clipped], { axes: [3], keepdims: 0 }); // [N, 4, 6]
      const back = net.op('Squeeze', [net.op('Unsqueeze', [summed], { axes: [1] })], { axes: [1] });
      const padded = net.op('Pad', [back, net.ints('pads', [0, 0, 1, 0, 0, 2]), net.floats('value', [], [0.25])]); // [N, 4, 9]
      const sliced = net.op('Slice', [padded, net.ints('s', [1]), net.ints('e', [9]), net.ints('a', [2]), net.ints('st', [2])]); // [N, 4, 4]
      await check(net.head(net.op('Relu', [sliced])));
    });
    it('opset 9: Slice starts/ends, Pad pads/value and Clip min/max as attributes, Dropout with ratio, Unsqueeze axes', async () => {
      const net = new Net([3, 6, 6], 9);
      const c = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const bn = net.op('BatchNormalization', [c, net.param('gamma', [4], 0.3, 1), net.param('beta', [4], 0.3), net.param('mean', [4], 0.2), net.param('var', [4], 0.4, 1)], { epsilon: { float: 1e-5 } });
      const sliced = net.op('Slice', [bn], { starts: [0, 1], ends: [END, END], axes: [2, 3] }); // [N, 4, 6, 5]
      const padded = net.op('Pad', [sliced], { pads: [0, 1, 0, 1, 0, 1, 1, 0], value: { float: 0.1 } }); // [N, 6, 7, 6]
      const clipped = net.op('Clip', [padded], { min: { float: -0.8 }, max: { float: 0.9 } });
      const pooled = net.op('MaxPool', [clipped], { kernel_shape: [2, 2], strides: [2, 2] }); // [N, 6, 3, 3]
      const dropped = net.op('Dropout', [pooled], { ratio: { float: 0.5 } });
      const gap = net.op('Squeeze', [net.op('GlobalAveragePool', [dropped])], { axes: [2, 3] }); // [N, 6]
      const un = net.op('Unsqueeze', [gap], { axes: [2] }); // [N, 6, 1]
      await check(net.head(net.op('Concat', [un, net.op('ReduceMean', [un], { axes: [1], keepdims: 1 })], { axis: 1 })));
    });
    it('opset 7: BatchNormalization with the spatial attribute', async () => {
      const net = new Net([3, 5, 5], 7);
      const c = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const bn = net.op('BatchNormalization', [c, net.param('gamma', [4], 0.3, 1), net.param('beta', [4], 0.3), net.param('mean', [4], 0.2), net.param('var', [4], 0.4, 1)], { spatial: 1 });
      await check(net.head(net.op('Relu', [bn])));
    });
    it('opset 9 in batch-statistics mode', async () => {
      const net = new Net([3, 5, 5], 9);
      const c = net.conv(net.x, 'conv', 3, 4, [3, 3], { pads: [1, 1, 1, 1] });
      const bn = net.op('BatchNormalization', [c, net.param('gamma', [4], 0.3, 1), net.param('beta', [4], 0.3), net.param('mean', [4], 0.2), net.param('var', [4], 0.4, 1)], { momentum: { float: 0.7 } });
      const sliced = net.op('Slice', [net.op('Relu', [bn])], { starts: [0], ends: [3], axes: [1] });
      await check(net.head(sliced), { batchNorm: 'batch-statistics', batch: 3 });
    });
  });

  describe('parameters off the path and ops without a gradient', () => {
    it('an op without a gradient on the path (Erf) is an UNSUPPORTED HalocError naming the op', async () => {
      const net = new Net([6]);
      const model = net.head(net.op('Erf', [net.gemm(net.x, 'pre', 6, 5)]));
      const error = await expectHalocError(() => active(model, { batch: 2, trainable: new Set(trainableInitializers(model)), batchNorm: 'running-statistics' }), 'UNSUPPORTED', 'a step graph through Erf');
      assert.match(error.message, /\bErf\b/);
    });
    it('an op without a gradient on the path (Resize) is an UNSUPPORTED HalocError naming the op', async () => {
      const net = new Net([3, 4, 4]);
      const up = net.op('Resize', [net.conv(net.x, 'conv', 3, 2, [1, 1]), '', net.floats('scales', [4], [1, 1, 2, 2])], { mode: 'nearest' });
      const model = net.head(up);
      const error = await expectHalocError(() => active(model, { batch: 2, trainable: new Set(trainableInitializers(model)), batchNorm: 'running-statistics' }), 'UNSUPPORTED', 'a step graph through Resize');
      assert.match(error.message, /\bResize\b/);
    });
    it('Pad in reflect mode on the path is an UNSUPPORTED HalocError', async () => {
      const net = new Net([3, 4, 4]);
      const model = net.head(net.op('Pad', [net.conv(net.x, 'conv', 3, 2, [1, 1]), net.ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'reflect' }));
      const error = await expectHalocError(async () => {
        const backend = await active(model, { batch: 2, trainable: new Set(trainableInitializers(model)), batchNorm: 'running-statistics' });
        await backend.dispose();
      }, 'UNSUPPORTED', 'a step graph through a reflect Pad');
      assert.match(error.message, /Pad/);
    });
    it('the same op before every trainable parameter is fine (no gradient needs to pass it)', async () => {
      const net = new Net([6]);
      await check(net.head(net.gemm(net.op('Erf', [net.x]), 'pre', 6, 5)), { batch: 4 });
    });
    it('a trainable parameter off the path to the logits is absent from backend.parameters', async () => {
      const net = new Net([6]);
      const logits = net.gemm(net.x, 'fc', 6, CLASSES, 1.5);
      net.builder.output(logits, ['N', CLASSES]);
      const side = net.gemm(net.x, 'side', 6, 2);
      net.builder.output(side, ['N', 2]);
      const dangling = net.op('Mul', [net.x, net.param('unused', [6], 1)]);
      assert.ok(dangling);
      const model = net.model();
      const trainable = new Set([...trainableInitializers(model), 'not_an_initializer']);
      assert.ok(trainable.has('side_w') && trainable.has('unused'));
      const backend = await active(model, { batch: 2, trainable, batchNorm: 'running-statistics' });
      try {
        assert.deepEqual([...backend.parameters].sort(), ['fc_c', 'fc_w']);
      } finally {
        await backend.dispose();
      }
      await check(model, { batch: 4, trainable, expectParameters: ['fc_c', 'fc_w'] });
    });
  });

  describe('the check itself', () => {
    it('catches one gradient entry that is 5% off', async () => {
      const net = new Net([6]);
      const model = net.head(net.op('Tanh', [net.gemm(net.x, 'pre', 6, 5)]));
      let corrupted = -1;
      const factory: BackendFactory = async (m, spec) => {
        const inner = await active(m, spec);
        return {
          description: inner.description,
          parameters: inner.parameters,
          classes: inner.classes,
          step: async (inputs) => {
            const out = await inner.step(inputs);
            const grad = Float32Array.from(out.grads.get('pre_w')!);
            corrupted = grad.reduce((best, v, i) => (Math.abs(v) > Math.abs(grad[best]!) ? i : best), 0);
            grad[corrupted] = grad[corrupted]! * 1.05;
            return { ...out, grads: new Map([...out.grads, ['pre_w', grad]]) };
          },
          dispose: () => inner.dispose(),
        };
      };
      const report = await checkGradients(model, { batch: 4, images: imagesFor(model, 4), hardTargets: oneHot(4), factory, samples: 1000 });
      assert.deepEqual(
        report.failures.filter((f) => f.index >= 0).map((f) => [f.parameter, f.index]),
        [['pre_w', corrupted]],
      );
    });
  });
});
}
