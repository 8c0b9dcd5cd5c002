// Training engine (issue 5):
//  (1) ResNet-20 (../shared/models) training throughput at batch 64, images/s of a full training step
//      (forward, loss, backward and the AdamW update), for each available backend, beside
//      onnxruntime-node's inference throughput of the same model at the same batch measured in the
//      same run (alternating blocks; medians). Prints the ratio train / forward (bar: >= 0.08).
//  (2) with --finetune: the distillation fine-tune of the uniform half-rank Tucker-2 ResNet-20 (made
//      with `haloc compress --uniform 0.5`) from the original on the CIFAR-10 training JPEGs for
//      --epochs (default 2), with its wall time, then top-1 on the CIFAR-10 test JPEGs measured by
//      `haloc eval` and by bench/independent_eval.py (numpy + PIL, no project code; /usr/bin/python3
//      with python3-onnx and python3-pil).
// Prints; asserts no timing. Usage: npx tsc -b && node bench/trainBench.mjs [--runs N] [--backends onnxruntime,tfjs] [--finetune] [--epochs 2]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './generateModels.mjs';

const require = createRequire(import.meta.url);
const load = (module) => require(path.join(repoRoot, 'out/engine', module));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const runs = Number(option('--runs', 5));
const backends = option('--backends', 'onnxruntime,tfjs').split(',');
const shared = path.resolve(repoRoot, '..', 'shared');
const modelFile = path.join(shared, 'models', 'resnet20-cifar10.onnx');
if (!fs.existsSync(modelFile)) {
  console.log(`train bench skipped: ${modelFile} not found (the benchmark models live in ../shared)`);
  process.exit(0);
}
const ort = require('onnxruntime-node');
const { readOnnxModel } = load('onnx/onnxModel.js');
const { createBackend } = load('train/chooseBackend.js');
const { trainableInitializers } = load('train/stepGraph.js');
const { Optimizer } = load('train/optimizer.js');
const { seededNormal } = load('random.js');
const { runCli } = load('cli/main.js');

const batch = 64;
const threads = os.availableParallelism();
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function forwardBlock(session, feeds, steps) {
  const started = performance.now();
  for (let i = 0; i < steps; i++) await session.run(feeds);
  return (steps * batch) / ((performance.now() - started) / 1000);
}

async function trainBlock(backend, optimizer, inputs, steps) {
  const started = performance.now();
  for (let i = 0; i < steps; i++) {
    const out = await backend.step(inputs);
    optimizer.step(inputs.params, out.grads, 1e-4);
    for (const [name, values] of out.running) inputs.running.set(name, values);
  }
  return (steps * batch) / ((performance.now() - started) / 1000);
}

async function throughput() {
  const model = readOnnxModel(modelFile);
  const images = seededNormal(batch * 3 * 32 * 32, 1);
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', images, [batch, 3, 32, 32]) };
  const hard = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) hard[i * 10 + (i % 10)] = 1;
  console.log(`(1) ResNet-20 at batch ${batch}, ${threads} threads; ${runs} alternating blocks (forward: 20 batches, training: 5 steps), medians`);
  await forwardBlock(session, feeds, 5);
  for (const choice of backends) {
    let backend;
    try {
      backend = await createBackend(model, { batch, trainable: new Set(trainableInitializers(model)), batchNorm: 'batch-statistics' }, choice);
    } catch (error) {
      console.log(`    ${choice}: unavailable (${error.message})`);
      continue;
    }
    const params = new Map(backend.parameters.map((n) => [n, model.constants.get(n).toFloat32()]));
    const optimizer = new Optimizer({ kind: 'adamw', learningRate: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, new Map(backend.parameters.map((n) => [n, model.constants.get(n).dims.length])));
    const inputs = { images, hardTargets: hard, softTargets: new Float32Array(batch * 10), distillWeight: 0, temperature: 1, params, running: new Map() };
    await trainBlock(backend, optimizer, inputs, 2); // warm-up
    const forward = [];
    const train = [];
    for (let r = 0; r < runs; r++) {
      forward.push(await forwardBlock(session, feeds, 20));
      train.push(await trainBlock(backend, optimizer, inputs, 5));
    }
    await backend.dispose();
    const ratio = median(train) / median(forward);
    console.log(`    ${backend.description}: training ${median(train).toFixed(0)} images/s [${train.map((x) => x.toFixed(0)).join(' ')}]; onnxruntime forward ${median(forward).toFixed(0)} images/s [${forward.map((x) => x.toFixed(0)).join(' ')}]`);
    console.log(`    RATIO training / forward = ${ratio.toFixed(3)}   (bar: >= 0.08)`);
  }
  await session.release();
}

async function finetune() {
  const epochs = option('--epochs', '2');
  const train = path.join(shared, 'datasets', 'cifar10-train-jpeg.tar');
  const test = path.join(shared, 'datasets', 'cifar10-test-jpeg.tar');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-train-bench-'));
  const half = path.join(dir, 'resnet20.half.onnx');
  const tuned = path.join(dir, 'resnet20.half.finetuned.onnx');
  const pre = ['--size', '32', '--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];
  const cli = async (argv) => {
    const lines = [];
    const code = await runCli(argv, (t) => lines.push(t), (t) => process.stderr.write(`${t}\n`));
    if (code !== 0) throw new Error(`haloc ${argv[0]} exited ${code}`);
    return lines.join('\n');
  };
  console.log(`(2) distillation fine-tune of the uniform half-rank Tucker-2 ResNet-20, ${epochs} epochs of ${train}`);
  await cli(['compress', modelFile, '--uniform', '0.5', '-o', half, '--json']);
  const before = JSON.parse(await cli(['eval', half, '--data', test, ...pre, '--json']));
  const started = performance.now();
  const report = JSON.parse(await cli(['finetune', half, '--teacher', modelFile, '--data', train, '--eval-data', test, ...pre, '--epochs', epochs, '-o', tuned, '--json']));
  const wall = (performance.now() - started) / 1000;
  const after = JSON.parse(await cli(['eval', tuned, '--data', test, ...pre, '--json']));
  console.log(`    fine-tune: ${report.steps} steps, ${(wall / 60).toFixed(1)} min wall (incl. held-out evaluation), ${report.imagesPerSecond.toFixed(0)} images/s, ${report.backend}`);
  console.log(`    top-1 on the CIFAR-10 test JPEGs (haloc eval): ${(100 * before.top1).toFixed(2)}% untrained -> ${(100 * after.top1).toFixed(2)}% fine-tuned   (bar: >= 70%)`);
  const python = spawnSync('/usr/bin/python3', [path.join(repoRoot, 'bench', 'independent_eval.py'), tuned, test, ...pre, '--json'], { encoding: 'utf8' });
  if (python.status === 0) {
    const independent = JSON.parse(python.stdout);
    console.log(`    top-1 by bench/independent_eval.py (numpy + PIL): ${(100 * independent.top1).toFixed(2)}% on ${independent.images} images`);
  } else {
    console.log(`    independent evaluation unavailable: ${(python.stderr || python.error?.message || '').trim().split('\n').pop()}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

console.log(`train bench: node ${process.version}, onnxruntime-node ${require('onnxruntime-node/package.json').version}, ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0].toFixed(2)}`);
await throughput();
if (args.includes('--finetune')) await finetune();
console.log(`load average now ${os.loadavg()[0].toFixed(2)}`);
