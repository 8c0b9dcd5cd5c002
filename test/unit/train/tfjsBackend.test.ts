// The TensorFlow.js training backend beyond the op-by-op gradient checks (gradientCheck.test.ts runs
// those for every backend): the logits of the shared models (ResNet-20 with and without
// BatchNormalization, mnist-8) against onnxruntime; a small model trained with plain SGD to near-zero
// loss on a separable task; and the errors users can cause.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import { createTfjsBackend } from '../../../engine/train/tfjs/tfjsBackend';
import { expectHalocError, modelOf, randomFloats, sharedModel, sharedModelsDir } from '../testSupport';

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

function runningOf(model: OnnxModel): Map<string, Float32Array> {
  const running = new Map<string, Float32Array>();
  for (const node of model.graph.node ?? []) {
    if (node.opType !== 'BatchNormalization') continue;
    for (const name of [node.input?.[3], node.input?.[4]]) if (name) running.set(name, model.constants.get(name)!.toFloat32());
  }
  return running;
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
