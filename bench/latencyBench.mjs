// Latency tables (issue 4): (1) time to build the full table of a ResNet-50-shaped model at batch 1
// on this machine (all compressible layers, all candidate ranks), and the second build from the cache;
// (2) predicted vs measured whole-model latency, original and 50%-rank, at batch 1 and 32, on the CIFAR
// ResNets of ../shared/models and on generated CIFAR ResNet-44/56 shapes. Each run of (2) builds its
// tables into a fresh cache folder of its own (shared by its models, as a user's cache would be), so
// that no run reuses another's timings; with --runs N it prints every run and then each cell's median
// error and range. Each cell gives the error of the prediction from the table and, in brackets, from the
// same layers' entries timed again in the check's rounds; each row ends with the table's drift against
// those (see latencyCheck.ts). Prints; asserts no timing.
// --models=a.onnx,b.onnx adds models of one's own (CIFAR-shaped input [N, 3, 32, 32] or any fixed shape).
// --only-models leaves out the shared and generated ones.
// Usage: node bench/latencyBench.mjs [--skip-resnet50] [--batches=1,32] [--runs=N] [--models=a.onnx,...] [--only-models]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ensureModel, repoRoot } from './generateModels.mjs';

const require = createRequire(import.meta.url);
const load = (module) => require(path.join(repoRoot, 'out/engine', module));
const { readOnnxModel } = load('onnx/onnxModel.js');
const { analyzeModel } = load('graph/analyzeModel.js');
const { buildLatencyTable } = load('hardware/buildLatencyTable.js');
const { checkLatency } = load('hardware/latencyCheck.js');
const { minCpuShare } = load('hardware/timeSession.js');

const args = process.argv.slice(2);
const batches = (args.find((a) => a.startsWith('--batches='))?.slice(10) ?? '1,32').split(',').map(Number);
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 1);
const threads = os.cpus().length;

async function tableBuildTimes() {
  const file = ensureModel('resnet50');
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-latency-bench-'));
  try {
    const model = readOnnxModel(file);
    const analysis = await analyzeModel(model, { batch: 1 });
    let started = performance.now();
    const first = await buildLatencyTable(model, analysis, { cacheDir, threads });
    const firstS = (performance.now() - started) / 1000;
    started = performance.now();
    const second = await buildLatencyTable(readOnnxModel(file), analysis, { cacheDir, threads });
    const secondS = (performance.now() - started) / 1000;
    const entries = Object.values(first.table.layers);
    const ranks = entries.reduce((s, e) => s + e.ranks.length, 0);
    console.log(`latency table, ResNet-50-shaped, batch 1, ${threads} threads: ${first.measuredLayers} layer shapes x their candidate ranks (${ranks} rank entries, granularity ${first.table.granularity}) built in ${firstS.toFixed(1)} s (bar: < 120 s); second build from the cache ${secondS.toFixed(3)} s, ${second.measuredLayers} measured (bar: < 1 s)`);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

async function predictionErrors() {
  const shared = path.resolve(repoRoot, '..', 'shared', 'models');
  const builtin = args.includes('--only-models') ? [] : [
    ...['resnet20-cifar10.onnx', 'resnet32-cifar10.onnx'].map((f) => path.join(shared, f)).filter((f) => fs.existsSync(f)),
    ensureModel('resnet44'),
    ensureModel('resnet56'),
  ];
  const models = [
    ...builtin,
    ...(args.find((a) => a.startsWith('--models='))?.slice(9).split(',').filter(Boolean).map((f) => path.resolve(f)) ?? []),
  ];
  const errors = new Map(); // "file batch" -> { original: [], compressed: [] }
  for (let run = 1; run <= runs; run++) {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-latency-check-'));
    try {
      console.log(`\nwhole-model latency${runs > 1 ? `, run ${run} of ${runs}` : ''}, predicted (untouched part measured + table entries) vs measured end to end:`);
      console.log('model                      batch  original: predicted / measured / error (entries now)    50% rank: predicted / measured / error (entries now)    table drift');
      for (const file of models) {
        for (const batch of batches) {
          const model = readOnnxModel(file);
          const analysis = await analyzeModel(model, { batch });
          const built = await buildLatencyTable(model, analysis, { threads, cacheDir });
          const { table, layerKeys } = built;
          if (built.busyLayers.length > 0) console.log(`  (${path.basename(file)} batch ${batch}: ${built.busyLayers.length} table entries timed while another process held a core, CPU share ${built.lowestCpuShare.toFixed(2)})`);
          const ranks = Object.fromEntries(analysis.layers.filter((l) => l.compressible).map((l) => [l.name, Math.max(1, Math.round(l.maxRank / 2))]));
          const check = await checkLatency(model, analysis, table, layerKeys, { threads, provider: 'cpu' }, ranks);
          const cell = (c) => `${c.predictedMs.toFixed(2).padStart(7)} / ${c.measuredMs.toFixed(2).padStart(7)} ms / ${signed(c.errorPct)} (${signed(c.retimed.errorPct)})`;
          const busy = check.cpuShare < minCpuShare ? `  busy: CPU share ${check.cpuShare.toFixed(2)}, another process held a core` : '';
          console.log(`${path.basename(file).padEnd(26)} ${String(batch).padStart(5)}  ${cell(check.original).padEnd(49)} ${cell(check.compressed).padEnd(49)} ${signed(check.tableDriftPct)}${busy}`);
          const key = `${path.basename(file)} ${batch}`;
          const seen = errors.get(key) ?? { original: [], compressed: [], originalNow: [], compressedNow: [] };
          seen.original.push(check.original.errorPct);
          seen.compressed.push(check.compressed.errorPct);
          seen.originalNow.push(check.original.retimed.errorPct);
          seen.compressedNow.push(check.compressed.retimed.errorPct);
          errors.set(key, seen);
        }
      }
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  if (runs > 1) {
    console.log(`\nerror over ${runs} runs, median (lowest .. highest):`);
    console.log('model                      batch  original (table)              50% rank (table)              original (entries now)        50% rank (entries now)');
    const summary = (values) => `${signed(median(values))} (${signed(Math.min(...values))} .. ${signed(Math.max(...values))})`;
    for (const [key, seen] of errors) {
      const [file, batch] = key.split(' ');
      console.log(`${file.padEnd(26)} ${batch.padStart(5)}  ${[seen.original, seen.compressed, seen.originalNow].map((v) => summary(v).padEnd(29)).join(' ')} ${summary(seen.compressedNow)}`);
    }
  }
  console.log('(bar: within 15% for both, at batch 1 and 32, on CIFAR ResNets not in ../shared)');
}

function signed(pct) {
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

if (!args.includes('--skip-resnet50')) await tableBuildTimes();
await predictionErrors();
