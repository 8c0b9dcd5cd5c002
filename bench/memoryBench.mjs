// Peak memory of the extension's jobs on a large model (issue 8, limits): the search job (data-free fast
// preview against the analytic embedded-GPU profile, so that no latency is timed) and the compression of
// its middle point, on the VGG-16-shaped model (~550 MB), in this process as the engine worker runs them.
// Prints the peak resident set size against the model's size (the peer: the file itself) and the bar
// (within 4 GB). The peak factors of engine/io/memoryLimit.ts come from this bench.
// Usage: npx tsc -b && node bench/memoryBench.mjs [--model resnet50|vgg16] [--calibration 16] [--verbose (progress with the RSS, its peak since the previous message and the kernel's high-water mark)]
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ensureModel, repoRoot } from './generateModels.mjs';

const require = createRequire(import.meta.url);
const load = (module) => require(path.join(repoRoot, 'out/engine', module));
const { runSearchJob } = load('search/searchJob.js');
const { runCompressJob } = load('search/compressJob.js');
const { resultPoints } = load('search/resultView.js');
const { neverCancelled } = load('cancellation.js');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const modelFile = ensureModel(option('--model', 'vgg16'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-memory-bench-'));
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
// sampled from a worker thread: the main thread's synchronous work (an SVD, an ONNX encoding) would stall a timer of its own
const peakMb = new Int32Array(new SharedArrayBuffer(8)); // [peak, peak since the last progress message]
const sampler = new Worker(`
  const { workerData } = require('node:worker_threads');
  const peakMb = new Int32Array(workerData);
  const raise = (i, mb) => { if (mb > Atomics.load(peakMb, i)) Atomics.store(peakMb, i, mb); };
  setInterval(() => { const mb = Math.ceil(process.memoryUsage().rss / 2 ** 20); raise(0, mb); raise(1, mb); }, 5);
`, { eval: true, workerData: peakMb.buffer });
const peakNow = () => Math.max(Atomics.load(peakMb, 0) * 2 ** 20, process.resourceUsage().maxRSS * 1024);

try {
  const modelBytes = fs.statSync(modelFile).size;
  const settings = {
    modelPath: modelFile, mode: 'fast', target: 'embedded-gpu', batch: 1, threads: os.availableParallelism(), data: null, dataFreePreprocessing: {},
    fast: { calibration: Number(option('--calibration', '16')), points: 5 }, haloc: { searchEpochs: 0.25, finetuneEpochs: 1 }, workDir: path.join(work, 'work'),
  };
  let started = performance.now();
  const verbose = args.includes('--verbose');
  const report = (message) => {
    const rss = process.memoryUsage().rss;
    const since = Math.max(Atomics.exchange(peakMb, 1, 0) * 2 ** 20, rss);
    if (verbose) console.log(`  [${mb(rss)}, peak since the last message ${mb(since)}, high-water mark ${mb(process.resourceUsage().maxRSS * 1024)}] ${message}`);
  };
  const { result } = await runSearchJob(settings, neverCancelled, report, 0); // no limit: this measures what the limit's factor should be
  const searchS = (performance.now() - started) / 1000;
  const searchPeak = peakNow();
  const points = resultPoints(result);
  const point = points[Math.floor(points.length / 2)];
  started = performance.now();
  await runCompressJob({ search: settings, point: { id: point.id, name: point.name, ranks: point.ranks, onnx: point.onnx }, outputPath: path.join(work, 'out.onnx'), memoryLimitMb: 0 }, neverCancelled, () => undefined);
  const compressS = (performance.now() - started) / 1000;
  const bothPeak = peakNow();
  console.log(`${path.basename(modelFile)} (${mb(modelBytes)}), data-free fast search (${points.length} points) ${searchS.toFixed(0)} s, peak RSS ${mb(searchPeak)} = ${(searchPeak / modelBytes).toFixed(2)}x the model;`);
  console.log(`  then compressing ${point.name} ${compressS.toFixed(0)} s, peak RSS of both ${mb(bothPeak)} = ${(bothPeak / modelBytes).toFixed(2)}x the model (bar: within 4 GB)`);
} finally {
  await sampler.terminate();
  fs.rmSync(work, { recursive: true, force: true });
}
