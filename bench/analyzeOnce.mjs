// One timed load + analysis in this process, for bench/loadAnalyze.mjs: times exactly
// readOnnxModel(path) + await analyzeModel(model) and prints one JSON line with the time and totals.
// With --audit (an untimed run), it also checks that the weights are views into the one file buffer
// and that the analysis read no weight values (only small integer constants).
// Usage: node bench/analyzeOnce.mjs <model.onnx> [--audit]
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { readOnnxModel } = require(path.join(repoRoot, 'out/engine/onnx/onnxModel.js'));
const { analyzeModel } = require(path.join(repoRoot, 'out/engine/graph/analyzeModel.js'));
const { StoredTensor } = require(path.join(repoRoot, 'out/engine/onnx/constTensor.js'));

const filePath = process.argv[2];
const audit = process.argv.includes('--audit');
if (!filePath) throw new Error('usage: node bench/analyzeOnce.mjs <model.onnx> [--audit]');

/** Counts reads of stored tensor bytes larger than a shape/index tensor could be (audit runs only). */
const weightReads = [];
if (audit) {
  const storedBytes = StoredTensor.prototype.storedBytes;
  StoredTensor.prototype.storedBytes = function countedStoredBytes() {
    const bytes = storedBytes.call(this);
    if (bytes && bytes.byteLength > 1024) weightReads.push(this.name);
    return bytes;
  };
}

const started = process.hrtime.bigint();
const model = readOnnxModel(filePath);
const loaded = process.hrtime.bigint();
const analysis = await analyzeModel(model);
const finished = process.hrtime.bigint();

const seconds = (from, to) => Number(to - from) / 1e9;
const weightBuffers = new Set((model.graph.initializer ?? []).map((t) => t.rawData?.buffer).filter(Boolean));
console.log(JSON.stringify({
  ...(audit && {
    weightReads,
    weightBuffers: weightBuffers.size,
    weightBuffersBytes: [...weightBuffers].reduce((sum, b) => sum + b.byteLength, 0),
    fileSizeBytes: model.fileSizeBytes,
  }),
  seconds: seconds(started, finished),
  loadSeconds: seconds(started, loaded),
  analyzeSeconds: seconds(loaded, finished),
  params: analysis.totals.params,
  macs: analysis.totals.macs,
  layers: analysis.totals.layers,
  shapeInference: analysis.model.shapeInference,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
}));
