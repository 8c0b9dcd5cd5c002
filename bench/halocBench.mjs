// HALOC search (issue 6): `haloc search --mode haloc` on ResNet-20 (../shared/models) with the CIFAR-10
// training JPEGs for the search and the fine-tuning and the test JPEGs for the measured delta, against
// this machine's latency table at batch 32, with the uniform-rank and energy-threshold baselines at the
// HALOC point's MACs through the same fine-tuning. Prints, per model: fewer MACs, measured top-1 change,
// measured end-to-end speedup at batch 1 and batch 32 against the uncompressed model timed in the same
// run (onnxruntime-node, alternating rounds, medians), the wall time and training images/s of each
// phase, and the paper's row; writes the result and an SVG plot of the front (bench/plotFront.mjs).
// --depths 32,44,56 also runs the same command, untouched but for shorter epochs, on other CIFAR
// ResNets (ResNet-32 from ../shared, generated ResNet-44/56 shapes with untrained weights: the command
// must run end to end; their accuracy means nothing).
// Asserts no timing. Usage: npx tsc -b && node bench/halocBench.mjs [--budget 0.7] [--epochs 0.5]
//   [--finetune-epochs 9] [--baselines uniform,energy] [--out dir] [--reuse result.json] [--depths 32,44,56]
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureModel, repoRoot } from './generateModels.mjs';

const require = createRequire(import.meta.url);
const load = (module) => require(path.join(repoRoot, 'out/engine', module));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const shared = path.resolve(repoRoot, '..', 'shared');
const modelFile = path.join(shared, 'models', 'resnet20-cifar10.onnx');
const train = path.join(shared, 'datasets', 'cifar10-train-jpeg.tar');
const test = path.join(shared, 'datasets', 'cifar10-test-jpeg.tar');
if (![modelFile, train, test].every((f) => fs.existsSync(f))) {
  console.log(`HALOC bench skipped: ${modelFile} or the CIFAR-10 tars in ${path.join(shared, 'datasets')} not found (they live in ../shared)`);
  process.exit(0);
}
const { runCli } = load('cli/main.js');
const { timeModelsInRounds } = load('hardware/timeSession.js');
const outDir = path.resolve(option('--out', path.join(repoRoot, 'bench', '.cache', 'haloc')));
fs.mkdirSync(outDir, { recursive: true });
const pre = ['--size', '32', '--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];

async function cli(argv) {
  const lines = [];
  const code = await runCli(argv, (t) => lines.push(t), (t) => process.stderr.write(`${t}\n`));
  if (code !== 0) throw new Error(`haloc ${argv[0]} exited with ${code}`);
  return lines.join('\n');
}

/** The search command of this bench; only the model, the output and the epochs differ between runs. */
function searchArgs(model, out, { epochs, finetuneEpochs, baselines, budget }) {
  return ['search', model, '--mode', 'haloc', '--data', train, '--eval-data', test, ...pre, '--batch', '32', '--budget', budget,
    '--epochs', epochs, '--finetune-epochs', finetuneEpochs, ...(baselines ? ['--baselines', baselines] : []), '--work-dir', `${out}.work`, '-o', out];
}

/** Median end-to-end latency of each model at `batch`, in rounds of fresh sessions (ms). */
async function measuredMs(files, batch) {
  const session = await require('onnxruntime-node').InferenceSession.create(files[0]);
  const inputs = [{ name: session.inputNames[0], dims: [batch, 3, 32, 32], elemType: 1 }];
  await session.release();
  return timeModelsInRounds(files, inputs, { threads: os.availableParallelism(), provider: 'cpu' });
}

const reuse = option('--reuse', undefined);
const resultFile = reuse ? path.resolve(reuse) : path.join(outDir, 'resnet20.haloc.json');
const settings = { budget: option('--budget', '0.7'), epochs: option('--epochs', '0.5'), finetuneEpochs: option('--finetune-epochs', '9'), baselines: option('--baselines', 'uniform,energy') };
const started = performance.now();
if (!reuse) await cli(searchArgs(modelFile, resultFile, settings));
const wall = (performance.now() - started) / 1000;
const result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
const points = [...result.front, ...result.baselines];
const [b1, b32] = [await measuredMs([modelFile, ...points.map((p) => p.onnx)], 1), await measuredMs([modelFile, ...points.map((p) => p.onnx)], 32)];
const pct = (x) => `${(100 * x).toFixed(2)}%`;
console.log(`\nResNet-20 / CIFAR-10, HALOC against this machine's table at batch 32 (budget ${settings.budget}), fine-tuned ${result.settings.finetuneEpochs} epochs; original top-1 ${pct(result.original.top1)} on ${result.data.test.images} test images`);
console.log('| model | fewer MACs | top-1 (change, measured) | speedup batch 1 (measured, vs original same run) | speedup batch 32 | search | fine-tune |');
console.log('|---|---|---|---|---|---|---|');
points.forEach((p, i) => {
  const search = p.seconds.search > 0 ? `${(p.seconds.search / 60).toFixed(1)} min, ${p.imagesPerSecond.search.toFixed(0)} images/s` : '-';
  console.log(`| ${p.kind === 'haloc' ? `HALOC (budget ${p.budget})` : p.kind} | ${(100 * p.macsReduction).toFixed(1)}% | ${pct(p.top1)} (${p.accuracyDelta.value >= 0 ? '+' : ''}${p.accuracyDelta.value.toFixed(2)}) | ${(b1[0] / b1[i + 1]).toFixed(2)}x | ${(b32[0] / b32[i + 1]).toFixed(2)}x | ${search} | ${(p.seconds.finetune / 60).toFixed(1)} min, ${p.imagesPerSecond.finetune.toFixed(0)} images/s |`);
});
console.log('| paper (HALOC, ResNet-20, full GPU fine-tuning) | 72.20% | +0.07 | (GPU/ASIC) | | | |');
const halocPoint = result.front[0];
console.log(`\nwhole run (search + fine-tune + evaluation of the HALOC point${result.baselines.length ? ' and the baselines' : ''}): ${reuse ? '(reused result)' : `${(wall / 60).toFixed(1)} min wall`}; HALOC point alone: ${((halocPoint.seconds.search + halocPoint.seconds.finetune + halocPoint.seconds.evaluate) / 60).toFixed(1)} min`);
// The plot takes the batch-32 speedups of this run (alternating rounds beside the original), as the table does.
const svg = path.join(outDir, 'resnet20-front.svg');
const plotted = path.join(outDir, 'resnet20-front.plot.json');
const withSpeedup = (p, i) => ({ ...p, measuredSpeedup: b32[0] / b32[i + 1] });
fs.writeFileSync(plotted, JSON.stringify({ ...result, front: result.front.map((p, i) => withSpeedup(p, i)), baselines: result.baselines.map((p, i) => withSpeedup(p, result.front.length + i)) }));
const { spawnSync } = await import('node:child_process');
spawnSync(process.execPath, [path.join(repoRoot, 'bench', 'plotFront.mjs'), plotted, svg], { stdio: 'inherit' });

for (const depth of (option('--depths', '') || '').split(',').filter(Boolean)) {
  const file = depth === '32' ? path.join(shared, 'models', 'resnet32-cifar10.onnx') : ensureModel(`resnet${depth}`);
  const out = path.join(outDir, `resnet${depth}.haloc.json`);
  const t = performance.now();
  await cli(searchArgs(file, out, { ...settings, epochs: '0.05', finetuneEpochs: '0.1', baselines: '' }));
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  const p = r.front[0];
  console.log(`ResNet-${depth}${depth === '32' ? '' : '-shaped (untrained weights)'}: the same command ran end to end in ${((performance.now() - t) / 60000).toFixed(1)} min: ${(100 * p.macsReduction).toFixed(1)}% fewer MACs, ${p.measuredSpeedup.toFixed(2)}x measured at batch 32, top-1 ${pct(p.top1)} (original ${pct(r.original.top1)})`);
}
