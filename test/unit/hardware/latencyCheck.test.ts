// The whole-model check on a tiny model: the untouched part (the model without its compressible
// layers) loads and runs in onnxruntime-node with its own inputs fed and keeps no compressible layer;
// checkLatency gives finite, positive predicted / measured times and a finite error, for the original
// and for a compressed model, each also from its layers' entries timed again in the check's rounds,
// and the table's drift against those. No bound on the error and no timing assertion (shared 2-core
// machine). renderCheck shows every figure; driftNote warns beyond 10% of drift.
import * as assert from 'node:assert/strict';
import type * as Ort from 'onnxruntime-node';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { buildLatencyTable, type TableBuild } from '../../../engine/hardware/buildLatencyTable';
import { driftNote, renderCheck } from '../../../engine/cli/profileCommand';
import { checkLatency, type LatencyCheck, type LatencyComparison } from '../../../engine/hardware/latencyCheck';
import { randomFeeds, type TimedInput } from '../../../engine/hardware/timeSession';
import { untouchedPart } from '../../../engine/hardware/untouchedPart';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { modelOf, randomFloats } from '../testSupport';
import { analyzed, lightTableSettings, lightTiming, twinConvModel, type Analyzed } from './hardwareSupport';

async function runOnce(bytes: Uint8Array, inputs: readonly TimedInput[]): Promise<Record<string, Ort.Tensor>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    assert.deepEqual([...session.inputNames].sort(), inputs.map((i) => i.name).sort(), 'every graph input is fed, nothing else');
    return await session.run(randomFeeds(inputs));
  } finally {
    await session.release();
  }
}

function assertComparison(c: LatencyComparison | undefined, what: string): void {
  assert.ok(c, `${what}: present`);
  assert.ok(Number.isFinite(c.predictedMs) && c.predictedMs > 0, `${what}: predictedMs ${c.predictedMs}`);
  assert.ok(Number.isFinite(c.measuredMs) && c.measuredMs > 0, `${what}: measuredMs ${c.measuredMs}`);
  assert.ok(Number.isFinite(c.errorPct), `${what}: errorPct ${c.errorPct}`);
  assert.ok(Math.abs(c.errorPct - (100 * (c.predictedMs - c.measuredMs)) / c.measuredMs) < 1e-9, `${what}: errorPct = 100 (predicted - measured) / measured`);
  assert.ok(Number.isFinite(c.retimed.predictedMs) && c.retimed.predictedMs > 0, `${what}: retimed predictedMs ${c.retimed.predictedMs}`);
  assert.ok(Math.abs(c.retimed.errorPct - (100 * (c.retimed.predictedMs - c.measuredMs)) / c.measuredMs) < 1e-9, `${what}: retimed errorPct against the same measurement`);
}

/** The table's drift as the check defines it: its layers' part of the predictions against the same part timed now, over every comparison. */
function expectedDriftPct(check: LatencyCheck): number {
  const comparisons = [check.original, ...(check.compressed ? [check.compressed] : [])];
  const table = comparisons.reduce((sum, c) => sum + c.predictedMs - check.untouchedMs, 0);
  const now = comparisons.reduce((sum, c) => sum + c.retimed.predictedMs - check.untouchedMs, 0);
  return (100 * (table - now)) / now;
}

describe('untouchedPart', function () {
  this.timeout(30_000);
  let twin: Analyzed;

  before(async function () {
    twin = await analyzed(twinConvModel(), 1);
  });

  it('the tiny model without its three compressible layers runs in onnxruntime and keeps no compressible layer', async function () {
    const removed = twin.analysis.layers.filter((l) => l.compressible);
    const part = untouchedPart(twin.model, removed, [{ name: 'x', dims: [1, 8, 8, 8] }]);
    const nodes = part.model.graph?.node ?? [];
    // relu1 and relu2 are fused into conv1 and conv2 (their only consumers): they leave with them.
    assert.deepEqual(nodes.map((n) => n.name), ['flatten']);
    // Each removed layer's (fused activation's) output is fed: conv1+relu1 -> a_relu, conv2+relu2 -> b_relu, fc -> logits.
    assert.deepEqual(part.inputs.map((i) => [i.name, [...i.dims]]), [['x', [1, 8, 8, 8]], ['a_relu', [1, 8, 8, 8]], ['b_relu', [1, 8, 8, 8]], ['logits', [1, 10]]]);
    const bytes = encodeOnnx(part.model);
    const outputs = await runOnce(bytes, part.inputs);
    // fc's input is no longer used by any node: it becomes an output, so Flatten still runs.
    assert.deepEqual(Object.keys(outputs).sort(), ['flat', 'logits']);
    assert.deepEqual([...(outputs.flat?.dims ?? [])], [1, 512]);
    const analysis = await analyzeModel(decodeOnnxModel(bytes, 'untouched.onnx'));
    assert.equal(analysis.totals.compressibleLayers, 0);
    assert.deepEqual(analysis.layers.filter((l) => l.compressible), []);
    assert.deepEqual(part.model.graph?.initializer ?? [], [], 'the removed layers\' weights are gone');
  });

  it('removing only some layers keeps the others (and their weights) in the runnable part', async function () {
    const removed = twin.analysis.layers.filter((l) => l.name === 'conv2');
    const part = untouchedPart(twin.model, removed, [{ name: 'x', dims: [1, 8, 8, 8] }]);
    assert.deepEqual((part.model.graph?.node ?? []).map((n) => n.name), ['conv1', 'relu1', 'flatten', 'fc']);
    assert.deepEqual((part.model.graph?.initializer ?? []).map((t) => t.name).sort(), ['conv1.w', 'fc.b', 'fc.w']);
    const outputs = await runOnce(encodeOnnx(part.model), part.inputs);
    assert.ok('logits' in outputs && 'a_relu' in outputs);
    const analysis = await analyzeModel(decodeOnnxModel(encodeOnnx(part.model), 'part.onnx'));
    assert.deepEqual(analysis.layers.filter((l) => l.compressible).map((l) => l.name).sort(), ['conv1', 'fc']);
  });

  it('back-to-back compressible layers (conv feeding conv) give a runnable part too', async function () {
    const b = new GraphBuilder();
    b.input('x', [1, 4, 6, 6]);
    b.initializer(float32Tensor('w1', [8, 4, 3, 3], randomFloats(288, 1)));
    b.initializer(float32Tensor('w2', [8, 8, 3, 3], randomFloats(576, 2)));
    b.node('Conv', ['x', 'w1'], { pads: [1, 1, 1, 1] }, { name: 'first', outputs: ['h'] });
    b.node('Conv', ['h', 'w2'], { pads: [1, 1, 1, 1] }, { name: 'second', outputs: ['h2'] });
    b.node('Relu', ['h2'], {}, { name: 'relu', outputs: ['y'] });
    b.output('y');
    const model = modelOf(b);
    const analysis = await analyzeModel(model);
    const part = untouchedPart(model, analysis.layers.filter((l) => l.compressible), [{ name: 'x', dims: [1, 4, 6, 6] }]);
    const outputs = await runOnce(encodeOnnx(part.model), part.inputs);
    assert.deepEqual(Object.keys(outputs), ['y']);
  });
});

describe('checkLatency', function () {
  this.timeout(60_000);
  let twin: Analyzed;
  let built: TableBuild;

  before(async function () {
    twin = await analyzed(twinConvModel(), 1);
    built = await buildLatencyTable(twin.model, twin.analysis, lightTableSettings(null));
  });

  it('the original alone: finite positive predicted and measured times, a finite error, no compressed part', async function () {
    const check = await checkLatency(twin.model, twin.analysis, built.table, built.layerKeys, lightTiming);
    assertComparison(check.original, 'original');
    assert.equal(check.compressed, undefined);
    assert.ok(Number.isFinite(check.untouchedMs) && check.untouchedMs > 0, `untouchedMs ${check.untouchedMs}`);
    assert.equal(check.batch, 1);
    assert.ok(Number.isFinite(check.cpuShare) && check.cpuShare > 0, `cpuShare ${check.cpuShare}`);
    // predicted = untouched part + every layer's original entry (twins counted twice).
    const layersMs = ['conv1', 'conv2', 'fc'].reduce((sum, name) => sum + (built.table.layers[built.layerKeys[name] ?? '']?.originalMs ?? NaN), 0);
    assert.ok(Math.abs(check.original.predictedMs - (check.untouchedMs + layersMs)) < 1e-9, 'predicted = untouched + the layers\' entries');
    assert.ok(Math.abs(check.tableDriftPct - expectedDriftPct(check)) < 1e-9, `drift ${check.tableDriftPct}`);
  });

  it('with ranks: the compressed model is predicted from the rank entries and measured', async function () {
    const check = await checkLatency(twin.model, twin.analysis, built.table, built.layerKeys, lightTiming, { conv1: 4, conv2: 'keep', fc: 8 });
    assertComparison(check.original, 'original');
    assertComparison(check.compressed, 'compressed');
    const entry = (name: string) => built.table.layers[built.layerKeys[name] ?? ''];
    const at = (name: string, rank: number): number => entry(name)?.ranks.find((r) => r.rank >= rank)?.ms ?? NaN;
    const expected = check.untouchedMs + at('conv1', 4) + (entry('conv2')?.originalMs ?? NaN) + at('fc', 8);
    assert.ok(Math.abs((check.compressed?.predictedMs ?? NaN) - expected) < 1e-9, `compressed predicted ${check.compressed?.predictedMs} = ${expected}`);
    assert.ok(Math.abs(check.tableDriftPct - expectedDriftPct(check)) < 1e-9, `drift over both models ${check.tableDriftPct}`);
  });

  it('a batch of 2 (symbolic batch dimension) is fed and reported', async function () {
    const batch2 = await analyzed(twinConvModel(), 2);
    const table = await buildLatencyTable(batch2.model, batch2.analysis, lightTableSettings(null));
    const check = await checkLatency(batch2.model, batch2.analysis, table.table, table.layerKeys, lightTiming, { conv1: 8, conv2: 4, fc: 10 });
    assert.equal(check.batch, 2);
    assertComparison(check.original, 'original, batch 2');
    assertComparison(check.compressed, 'compressed, batch 2');
  });
});

describe('renderCheck and driftNote', function () {
  const comparison = (predictedMs: number, measuredMs: number, retimedMs: number): LatencyComparison => ({
    predictedMs, measuredMs, errorPct: (100 * (predictedMs - measuredMs)) / measuredMs,
    retimed: { predictedMs: retimedMs, errorPct: (100 * (retimedMs - measuredMs)) / measuredMs },
  });

  it('shows measured, both predictions with their errors, and the table\'s drift', function () {
    const text = renderCheck({ original: comparison(11, 10, 10.2), compressed: comparison(9, 10, 9.5), untouchedMs: 1.5, batch: 32, tableDriftPct: 6.25, cpuShare: 1 });
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^batch 32: .*untouched part \(1\.500 ms\)/);
    assert.match(text, /measured ms +predicted ms \(table\) +error +predicted ms \(entries now\) +error/);
    assert.match(text, /original +10\.000 +11\.000 +\+10\.0% +10\.200 +\+2\.0%/);
    assert.match(text, /compressed +10\.000 +9\.000 +-10\.0% +9\.500 +-5\.0%/);
    assert.match(lines.at(-1) ?? '', /entries timed now: \+6\.3%$/);
  });

  it('warns beyond 10% of drift, either way, and names the cache file to delete', function () {
    assert.equal(driftNote(9.9, '/c/t.json'), null);
    assert.equal(driftNote(-10, '/c/t.json'), null);
    assert.equal(driftNote(NaN, null), null);
    assert.match(driftNote(12.4, '/c/t.json') ?? '', /ran the layers 12% slower than now.*delete \/c\/t\.json$/);
    assert.match(driftNote(-15, null) ?? '', /15% faster than now: its predictions are off by about as much[^;]*$/);
  });
});
