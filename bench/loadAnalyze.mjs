// Load + analysis benchmark (issue 2, item 8 and its bar), against a named peer in the same run:
//  1. ResNet-50-shaped model (~102 MB): our readOnnxModel + analyzeModel, timed inside Node around
//     exactly those two calls, against Python's onnx.load(path) + onnx.shape_inference.infer_shapes(model),
//     timed inside Python around exactly those two calls. Every run is a fresh process; one untimed
//     warm-up per side first, so the file is in the page cache for both; then the sides alternate.
//     Prints the medians and the ratio ours / python (bar: <= 1.0).
//  2. VGG-16-shaped model (~553 MB): wall time and peak RSS of the real `haloc analyze` command
//     (bar: under 10 s and 2 GB), with Python's load + infer_shapes on the same file for reference.
// No timing is asserted; the exit code is non-zero only when a run fails or gives wrong totals.
// Usage: npm run bench [-- --runs N] [-- --skip-vgg]     (needs `npm run build`: out/ and dist/)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModels, ensureModel } from './generateModels.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const pythonPath = process.env.HALOC_BENCH_PYTHON ?? '/usr/bin/python3';
const timeTool = '/usr/bin/time';
const args = process.argv.slice(2);
const runs = args.includes('--runs') ? Math.max(1, Number(args[args.indexOf('--runs') + 1]) || 5) : 5;
const skipVgg = args.includes('--skip-vgg');

// The Python peer: exactly onnx.load + infer_shapes inside the timer; prints one JSON line.
const pythonPeer = `
import json, sys, time, resource, onnx
path = sys.argv[1]
start = time.perf_counter()
model = onnx.load(path)
loaded = time.perf_counter()
inferred = onnx.shape_inference.infer_shapes(model)
done = time.perf_counter()
print(json.dumps({"seconds": done - start, "loadSeconds": loaded - start, "inferSeconds": done - loaded,
  "valueInfos": len(inferred.graph.value_info), "onnx": onnx.__version__,
  "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
`;

class BenchFailure extends Error {}

/** Runs a command to completion; returns stdout, or throws a BenchFailure naming the command. */
function run(command, commandArgs, what) {
  const result = spawnSync(command, commandArgs, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new BenchFailure(`${what}: cannot start ${command} (${result.error.message})`);
  if (result.status !== 0) {
    const tail = `${result.stderr ?? ''}`.trim().split('\n').slice(-6).join('\n');
    throw new BenchFailure(`${what}: exited with ${result.status ?? result.signal}\n${tail}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

function lastJsonLine(text, what) {
  const line = text.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new BenchFailure(`${what}: expected a JSON line, got '${line.slice(0, 200)}'`);
  }
}

const ours = (file, extra = []) => lastJsonLine(run(process.execPath, [path.join(benchDir, 'analyzeOnce.mjs'), file, ...extra], 'haloc load+analyze').stdout, 'haloc load+analyze');
const peer = (file) => lastJsonLine(run(pythonPath, ['-c', pythonPeer, file], 'python onnx.load+infer_shapes').stdout, 'python onnx.load+infer_shapes');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const fmtSeconds = (s) => `${s.toFixed(s < 1 ? 3 : 2)} s`;
const fmtMB = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

function checkTotals(result, key, what) {
  const expected = benchModels[key].expectedParams;
  if (result.params !== expected) throw new BenchFailure(`${what}: counted ${result.params} params, expected ${expected}`);
  if (result.shapeInference !== 'static') throw new BenchFailure(`${what}: needed onnxruntime for shapes (${result.shapeInference})`);
}

/** ResNet-50-shaped: median of `runs` alternating fresh-process runs per side, after one warm-up each. */
function benchResNet() {
  const file = ensureModel('resnet50');
  const label = `${benchModels.resnet50.label} (${fmtMB(fs.statSync(file).size)})`;
  const auditRun = ours(file, ['--audit']); // warm-up (untimed), also checks the one-copy / no-weight-read rules
  checkTotals(auditRun, 'resnet50', 'haloc');
  const peerWarm = peer(file);
  const haloc = [];
  const python = [];
  for (let i = 0; i < runs; i++) {
    const mine = ours(file);
    checkTotals(mine, 'resnet50', 'haloc');
    haloc.push(mine);
    python.push(peer(file));
  }
  const ourSeconds = median(haloc.map((r) => r.seconds));
  const peerSeconds = median(python.map((r) => r.seconds));
  console.log(`load+analyze ${label}: haloc ${fmtSeconds(ourSeconds)}, python onnx.load+infer_shapes ${fmtSeconds(peerSeconds)}, ratio ${(ourSeconds / peerSeconds).toFixed(2)}   (median of ${runs}; bar: ratio <= 1.0)`);
  console.log(`  haloc   read+decode ${fmtSeconds(median(haloc.map((r) => r.loadSeconds)))}, analyze ${fmtSeconds(median(haloc.map((r) => r.analyzeSeconds)))}; all runs: ${haloc.map((r) => r.seconds.toFixed(3)).join(', ')}`);
  console.log(`  python  onnx.load ${fmtSeconds(median(python.map((r) => r.loadSeconds)))}, infer_shapes ${fmtSeconds(median(python.map((r) => r.inferSeconds)))}; all runs: ${python.map((r) => r.seconds.toFixed(3)).join(', ')} (onnx ${peerWarm.onnx})`);
  console.log(`  haloc   ${auditRun.layers} layers, ${(auditRun.params / 1e6).toFixed(2)}M params, ${(auditRun.macs / 1e9).toFixed(2)}G MACs; weights are views into ${auditRun.weightBuffers} buffer(s) of ${fmtMB(auditRun.weightBuffersBytes)} (file ${fmtMB(auditRun.fileSizeBytes)}); weight tensors read by the analysis: ${auditRun.weightReads.length}`);
  if (auditRun.weightBuffers !== 1 || auditRun.weightBuffersBytes !== auditRun.fileSizeBytes) throw new BenchFailure('haloc: the weights are not views into the one file buffer (copied on read)');
  if (auditRun.weightReads.length > 0) throw new BenchFailure(`haloc: the analysis read the values of ${auditRun.weightReads.length} weight tensor(s): ${auditRun.weightReads.slice(0, 5).join(', ')}`);
}

/** Runs `command` under /usr/bin/time -v when it exists (else RSS from the process itself); wall time from here. */
function measured(command, commandArgs, what, ownRss) {
  const useTime = fs.existsSync(timeTool);
  const started = process.hrtime.bigint();
  const { stdout, stderr } = useTime ? run(timeTool, ['-v', command, ...commandArgs], what) : run(command, commandArgs, what);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const kilobytes = useTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) : NaN;
  const maxRssBytes = Number.isFinite(kilobytes) ? kilobytes * 1024 : ownRss(stdout);
  return { stdout, wallSeconds, maxRssBytes };
}

function parseCliJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    throw new BenchFailure(`haloc analyze --json: the output is not one JSON object ('${text.slice(0, 120)}...')`);
  }
}

/** VGG-16-shaped: the real `haloc analyze --json` command, end to end, against Python on the same file. */
function benchVgg() {
  const file = ensureModel('vgg16');
  const label = `${benchModels.vgg16.label} (${fmtMB(fs.statSync(file).size)})`;
  const vggRuns = Math.min(runs, 3);
  // The CLI prints only the analysis; with no /usr/bin/time, a preload reports the peak RSS on exit.
  const rssPreload = path.join(benchDir, 'reportMaxRss.cjs');
  const cliArgs = fs.existsSync(timeTool) ? [path.join(repoRoot, 'bin/haloc.js'), 'analyze', file, '--json'] : ['--require', rssPreload, path.join(repoRoot, 'bin/haloc.js'), 'analyze', file, '--json'];
  const cliRss = (stdout) => Number(/"maxRssBytes":(\d+)/.exec(stdout.split('\n').filter((l) => l.startsWith('{"maxRssBytes"')).pop() ?? '')?.[1]);
  const haloc = [];
  const python = [];
  for (let i = 0; i <= vggRuns; i++) { // run 0 is the warm-up
    const cli = measured(process.execPath, cliArgs, 'haloc analyze', cliRss);
    const analysis = parseCliJson(cli.stdout.replace(/\n\{"maxRssBytes":\d+\}\n$/, ''));
    if (analysis?.totals?.params !== benchModels.vgg16.expectedParams) throw new BenchFailure(`haloc analyze: counted ${analysis?.totals?.params} params on ${label}, expected ${benchModels.vgg16.expectedParams}`);
    const py = measured(pythonPath, ['-c', pythonPeer, file], 'python onnx.load+infer_shapes', (stdout) => lastJsonLine(stdout, 'python').maxRssBytes);
    if (i === 0) continue;
    haloc.push(cli);
    python.push({ ...py, seconds: lastJsonLine(py.stdout, 'python').seconds });
  }
  const ourWall = median(haloc.map((r) => r.wallSeconds));
  const ourRss = Math.max(...haloc.map((r) => r.maxRssBytes));
  const peerSeconds = median(python.map((r) => r.seconds));
  console.log(`haloc analyze ${label}: ${fmtSeconds(ourWall)} wall, peak RSS ${fmtMB(ourRss)}   (median of ${vggRuns} runs, whole command; bar: < 10 s and < 2 GB)`);
  console.log(`  reference: python onnx.load+infer_shapes ${fmtSeconds(peerSeconds)} (timed inside Python), process wall ${fmtSeconds(median(python.map((r) => r.wallSeconds)))}, peak RSS ${fmtMB(Math.max(...python.map((r) => r.maxRssBytes)))}`);
}

try {
  for (const required of ['out/engine/graph/analyzeModel.js', 'dist/cli.js']) {
    if (!fs.existsSync(path.join(repoRoot, required))) throw new BenchFailure(`${required} is missing: run \`npm run build\` first`);
  }
  console.log(`bench: load + analysis, haloc vs python onnx (${pythonPath}), node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}`);
  benchResNet();
  if (!skipVgg) benchVgg();
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
