// The training loop and its parts: optimizers against hand-computed updates, the schedule, targets,
// gradient clipping, checkpoints (round trip, damage, another run's file), and end to end on a
// small CNN: a synthetic separable task trains to near-zero loss, the exported model gives the
// engine's inference-mode outputs in onnxruntime-node, a cancelled and resumed run continues the same
// loss curve, and distillation without labels learns.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { CancelSignal } from '../../../engine/cancellation';
import type { ImageDataset } from '../../../engine/data/imageSet';
import { loadDataset } from '../../../engine/data/loadDataset';
import { HalocError } from '../../../engine/errors';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { readCheckpoint, writeCheckpoint } from '../../../engine/train/checkpoint';
import { encodeTrained, writeTrainedModel } from '../../../engine/train/exportTrained';
import { Optimizer } from '../../../engine/train/optimizer';
import { createOrtBackend } from '../../../engine/train/ortBackend';
import { learningRateAt } from '../../../engine/train/schedule';
import { correctTop1, meanEntropy, oneHot, softmaxRows } from '../../../engine/train/targets';
import { clipGradients, trainModel, type TrainOptions } from '../../../engine/train/trainer';
import { seededNormal } from '../../../engine/random';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-train-test-'));

/** A small CNN for 3 x 8 x 8 images and 4 classes: Conv-BN-Relu-Conv-Relu-GAP-Flatten-Gemm. */
function smallCnn(seed = 1, withBatchNorm = true): OnnxModel {
  const g = new GraphBuilder({ name: 'small_cnn', opset: 13 });
  g.input('x', ['N', 3, 8, 8]);
  const w = (name: string, dims: number[], scale: number, s: number): string => g.initializer(float32Tensor(name, dims, seededNormal(dims.reduce((p, d) => p * d, 1), s).map((v) => v * scale)));
  w('c1.w', [8, 3, 3, 3], 0.3, seed);
  w('c1.b', [8], 0, seed + 1);
  w('c2.w', [8, 8, 3, 3], 0.15, seed + 2);
  w('fc.w', [4, 8], 0.3, seed + 3);
  w('fc.b', [4], 0, seed + 4);
  let [h] = g.node('Conv', ['x', 'c1.w', 'c1.b'], { pads: [1, 1, 1, 1] });
  if (withBatchNorm) {
    g.initializer(float32Tensor('bn.scale', [8], new Float32Array(8).fill(1)));
    g.initializer(float32Tensor('bn.bias', [8], new Float32Array(8)));
    g.initializer(float32Tensor('bn.mean', [8], new Float32Array(8)));
    g.initializer(float32Tensor('bn.var', [8], new Float32Array(8).fill(1)));
    [h] = g.node('BatchNormalization', [h!, 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var']);
  }
  [h] = g.node('Relu', [h!]);
  [h] = g.node('Conv', [h!, 'c2.w'], { pads: [1, 1, 1, 1], strides: [2, 2] });
  [h] = g.node('Relu', [h!]);
  [h] = g.node('GlobalAveragePool', [h!]);
  [h] = g.node('Flatten', [h!]);
  g.node('Gemm', [h!, 'fc.w', 'fc.b'], { transB: 1 }, { outputs: ['logits'] });
  g.output('logits', ['N', 4]);
  return decodeOnnxModel(encodeOnnx(g.build()), path.join(os.tmpdir(), 'small_cnn.onnx'));
}

function syntheticData(count = 256, seed = 7): ImageDataset {
  return loadDataset({ synthetic: { count, height: 8, width: 8, channels: 3, classes: 4, seed, noise: 24 } }, { mean: [0.5], std: [0.25] }).dataset;
}

const adamw = { kind: 'adamw', learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 } as const;

describe('train: optimizers, schedule, targets', () => {
  it('SGD with momentum and weight decay on rank >= 2 only matches hand-computed updates', () => {
    const params = new Map([['w', Float32Array.of(1, 2, 3, 4)], ['b', Float32Array.of(1)]]);
    const opt = new Optimizer({ kind: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 0.5 }, new Map([['w', 2], ['b', 1]]));
    opt.step(params, new Map([['w', Float32Array.of(1, 1, 1, 1)], ['b', Float32Array.of(2)]]), 0.1);
    // w: g + wd p = 1.5, 2, 2.5, 3; v = that; p -= 0.1 v. b: no decay: v = 2; p = 1 - 0.2
    assert.deepEqual([...params.get('w')!].map((v) => +v.toFixed(6)), [0.85, 1.8, 2.75, 3.7]);
    assert.equal(+params.get('b')![0]!.toFixed(6), 0.8);
    opt.step(params, new Map([['b', Float32Array.of(2)]]), 0.1);
    // v = 0.9 * 2 + 2 = 3.8; p = 0.8 - 0.38
    assert.equal(+params.get('b')![0]!.toFixed(6), 0.42);
  });

  it('Nesterov SGD and AdamW first steps match their formulas', () => {
    const p = new Map([['b', Float32Array.of(1)]]);
    new Optimizer({ kind: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0 }, new Map([['b', 1]])).step(p, new Map([['b', Float32Array.of(2)]]), 0.1);
    assert.equal(+p.get('b')![0]!.toFixed(6), +(1 - 0.1 * (2 + 0.9 * 2)).toFixed(6));
    const q = new Map([['w', Float32Array.of(2, -3)]]);
    new Optimizer({ ...adamw, weightDecay: 0.1 }, new Map([['w', 2]])).step(q, new Map([['w', Float32Array.of(0.5, -4)]]), 0.01);
    // bias-corrected m / sqrt(v) = sign(g) on the first step; decay lr * wd * p
    assert.ok(Math.abs(q.get('w')![0]! - (2 - 0.01 * (1 + 0.1 * 2))) < 1e-6);
    assert.ok(Math.abs(q.get('w')![1]! - (-3 - 0.01 * (-1 + 0.1 * -3))) < 1e-6);
  });

  it('rejects invalid optimizer settings with a message', () => {
    assert.throws(() => new Optimizer({ kind: 'sgd', learningRate: -1, momentum: 0.9, weightDecay: 0 }, new Map()), /invalid sgd settings/);
  });

  it('warms up linearly, then decays on a cosine to the floor', () => {
    const s = { baseRate: 1, totalSteps: 110, warmupSteps: 10, floorFraction: 0.1 };
    assert.equal(learningRateAt(s, 0), 0.1);
    assert.equal(learningRateAt(s, 9), 1);
    assert.ok(Math.abs(learningRateAt(s, 10) - 1) < 1e-12);
    assert.ok(Math.abs(learningRateAt(s, 60) - 0.55) < 1e-12);
    assert.ok(Math.abs(learningRateAt(s, 110) - 0.1) < 1e-12);
  });

  it('builds one-hot and tempered softmax targets, their entropy, and counts top-1 hits', () => {
    assert.deepEqual([...oneHot(Int32Array.of(2, 0), 3)], [0, 0, 1, 1, 0, 0]);
    assert.throws(() => oneHot(Int32Array.of(3), 3), /outside/);
    const logits = Float32Array.of(1, 2, 3, 3, 2, 1);
    const p1 = softmaxRows(logits, 3);
    const p4 = softmaxRows(logits, 3, 4);
    assert.ok(Math.abs(p1[0]! + p1[1]! + p1[2]! - 1) < 1e-6);
    assert.ok(p4[2]! < p1[2]!, 'a higher temperature flattens the distribution');
    assert.ok(Math.abs(meanEntropy(Float32Array.of(0.5, 0.5, 1, 0), 2) - Math.log(2) / 2) < 1e-6);
    assert.equal(correctTop1(logits, Int32Array.of(2, 1), 3), 1);
  });

  it('clips gradients to a global norm', () => {
    const grads = new Map([['a', Float32Array.of(3)], ['b', Float32Array.of(4)]]);
    assert.equal(clipGradients(grads, 10), 5);
    assert.deepEqual([...grads.get('a')!], [3]);
    assert.equal(clipGradients(grads, 1), 5);
    assert.ok(Math.abs(grads.get('a')![0]! - 0.6) < 1e-6 && Math.abs(grads.get('b')![0]! - 0.8) < 1e-6);
  });
});

describe('train: checkpoints', () => {
  const state = { identity: 'run-1', step: 7, params: new Map([['w', Float32Array.of(1, 2, 3)]]), running: new Map([['m', Float32Array.of(0.5)]]), optimizer: new Map([['w', [Float32Array.of(4, 5, 6), Float32Array.of(7, 8, 9)]]]), losses: [3, 2.5] };

  it('round-trips every array and the position', () => {
    const file = path.join(tmp(), 'a.ckpt');
    writeCheckpoint(file, state);
    const back = readCheckpoint(file, 'run-1');
    assert.equal(back.step, 7);
    assert.deepEqual([...back.params.get('w')!], [1, 2, 3]);
    assert.deepEqual([...back.running.get('m')!], [0.5]);
    assert.deepEqual(back.optimizer.get('w')!.map((a) => [...a]), [[4, 5, 6], [7, 8, 9]]);
    assert.deepEqual(back.losses, [3, 2.5]);
  });

  it('refuses another run\'s checkpoint, a damaged one and a file that is not one', () => {
    const dir = tmp();
    const file = path.join(dir, 'a.ckpt');
    writeCheckpoint(file, state);
    const code = (run: () => unknown): string | undefined => {
      try {
        run();
      } catch (error) {
        assert.ok(error instanceof HalocError);
        assert.ok(!error.message.includes('\n'));
        return error.code;
      }
      return undefined;
    };
    assert.equal(code(() => readCheckpoint(file, 'run-2')), 'BAD_ARGUMENT');
    fs.writeFileSync(path.join(dir, 'cut.ckpt'), fs.readFileSync(file).subarray(0, 60));
    assert.equal(code(() => readCheckpoint(path.join(dir, 'cut.ckpt'), 'run-1')), 'CORRUPT');
    fs.writeFileSync(path.join(dir, 'other.ckpt'), 'hello');
    assert.equal(code(() => readCheckpoint(path.join(dir, 'other.ckpt'), 'run-1')), 'CORRUPT');
    assert.equal(code(() => readCheckpoint(path.join(dir, 'missing.ckpt'), 'run-1')), 'NOT_FOUND');
  });
});

describe('train: end to end on a small CNN (onnxruntime backend)', function () {
  this.timeout(120000);
  const base = (over: Partial<TrainOptions> = {}): TrainOptions => ({ model: smallCnn(), data: syntheticData(), epochs: 12, batchSize: 32, optimizer: adamw, seed: 3, backend: 'onnxruntime', ...over });

  it('trains a synthetic separable task to near-zero loss', async () => {
    const result = await trainModel(base());
    const first = result.losses[0]!;
    const last = result.losses.slice(-8).reduce((a, b) => a + b, 0) / 8;
    assert.match(result.backend, /onnxruntime/);
    assert.equal(result.steps, 12 * 8);
    assert.ok(first > 1, `the first loss ${first} should be near ln 4`);
    assert.ok(last < 0.05, `loss ${first} -> ${last}: not near zero`);
  });

  it('exports a model whose onnxruntime outputs equal the engine in inference mode (< 1e-4 relative)', async () => {
    const model = smallCnn();
    const data = syntheticData(64);
    const result = await trainModel(base({ model, data, epochs: 3 }));
    assert.ok(result.weights.has('bn.mean') && result.weights.has('bn.var'), 'running statistics are part of the trained weights');
    const file = path.join(tmp(), 'trained.onnx');
    writeTrainedModel(model, result.weights, file);
    // the engine in inference mode on the trained weights: the step graph with frozen (running) statistics
    const trained = decodeOnnxModel(encodeTrained(model, result.weights), file);
    const engine = await createOrtBackend(trained, { batch: 32, trainable: new Set(['c1.w', 'c2.w', 'fc.w']), batchNorm: 'running-statistics' }, { threads: 1 });
    const images = data.images.subarray(0, 32 * 3 * 64);
    const zeros = new Float32Array(32 * 4);
    const params = new Map(engine.parameters.map((n) => [n, result.weights.get(n)!]));
    const ours = (await engine.step({ images, hardTargets: zeros, softTargets: zeros, distillWeight: 0, temperature: 1, params, running: new Map() })).logits;
    await engine.dispose();
    const session = await ort.InferenceSession.create(file);
    const theirs = (await session.run({ x: new ort.Tensor('float32', images, [32, 3, 8, 8]) })).logits!.data as Float32Array;
    await session.release();
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < theirs.length; i++) {
      diff += (ours[i]! - theirs[i]!) ** 2;
      norm += theirs[i]! ** 2;
    }
    assert.ok(Math.sqrt(diff / norm) < 1e-4, `relative difference ${Math.sqrt(diff / norm)}`);
    // the same bytes in memory
    assert.equal(Buffer.compare(Buffer.from(encodeTrained(model, result.weights)), fs.readFileSync(file)), 0);
  });

  it('a cancelled run resumed from its checkpoint continues the same loss curve', async () => {
    const checkpoint = { path: path.join(tmp(), 'run.ckpt'), everySteps: 5 };
    const whole = await trainModel(base({ epochs: 3 }));
    let calls = 0;
    const cancel: CancelSignal & { cancelled: boolean } = {
      cancelled: false,
      throwIfCancelled() {
        if (this.cancelled) throw new HalocError('CANCELLED', 'cancelled');
      },
    };
    await assert.rejects(trainModel(base({ epochs: 3, checkpoint, cancel, onProgress: () => (cancel.cancelled = ++calls >= 11) })), (e: unknown) => e instanceof HalocError && e.code === 'CANCELLED');
    assert.equal(readCheckpoint(checkpoint.path, readIdentity(checkpoint.path)).step, 11, 'the checkpoint is written at the cancel');
    const resumed = await trainModel(base({ epochs: 3, checkpoint, resume: true }));
    assert.equal(resumed.resumedAt, 11);
    assert.equal(resumed.losses.length, whole.losses.length);
    resumed.losses.forEach((loss, i) => assert.ok(Math.abs(loss - whole.losses[i]!) <= 1e-5 * Math.max(1, Math.abs(loss)), `step ${i}: ${loss} vs ${whole.losses[i]}`));
  });

  it('distils from a teacher without labels', async () => {
    const teacher = await trainModel(base({ epochs: 8 }));
    const teacherBytes = encodeTrained(smallCnn(), teacher.weights);
    const unlabelled: ImageDataset = (({ labels: _labels, ...rest }) => rest)(syntheticData());
    await assert.rejects(trainModel(base({ model: smallCnn(5, false), data: unlabelled })), /without labels needs a teacher/);
    const student = await trainModel(base({ model: smallCnn(5, false), data: unlabelled, epochs: 10, teacher: { model: teacherBytes, temperature: 2, weight: 1 } }));
    const first = student.losses[0]!;
    const last = student.losses.slice(-8).reduce((a, b) => a + b, 0) / 8;
    assert.ok(last < 0.2 * first, `KL ${first} -> ${last}`);
  });
});

/** The identity stored in a checkpoint (read back through a deliberate mismatch message-free path). */
function readIdentity(file: string): string {
  const bytes = fs.readFileSync(file);
  return (JSON.parse(bytes.toString('utf8', 12, 12 + bytes.readUInt32LE(8))) as { identity: string }).identity;
}

