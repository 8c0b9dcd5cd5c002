// The whole-model check on a tiny model: the untouched part (the model without its compressible
// layers) loads and runs in onnxruntime-node with its own inputs fed and keeps no compressible layer;
// checkLatency gives finite, positive predicted / measured times and a finite error, for the original
// and for a compressed model. No bound on the error and no timing assertion (shared 2-core machine).
// medianOfRounds runs the timings in turn, round after round, and keeps each one's median.
import * as assert from 'node:assert/strict';
import type * as Ort from 'onnxruntime-node';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { buildLatencyTable, type TableBuild } from '../../../engine/hardware/buildLatencyTable';
import { checkLatency, medianOfRounds, type LatencyComparison } from '../../../engine/hardware/latencyCheck';
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
  });

  it('with ranks: the compressed model is predicted from the rank entries and measured', async function () {
    const check = await checkLatency(twin.model, twin.analysis, built.table, built.layerKeys, lightTiming, { conv1: 4, conv2: 'keep', fc: 8 });
    assertComparison(check.original, 'original');
    assertComparison(check.compressed, 'compressed');
    const entry = (name: string) => built.table.layers[built.layerKeys[name] ?? ''];
    const at = (name: string, rank: number): number => entry(name)?.ranks.find((r) => r.rank >= rank)?.ms ?? NaN;
    const expected = check.untouchedMs + at('conv1', 4) + (entry('conv2')?.originalMs ?? NaN) + at('fc', 8);
    assert.ok(Math.abs((check.compressed?.predictedMs ?? NaN) - expected) < 1e-9, `compressed predicted ${check.compressed?.predictedMs} = ${expected}`);
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

describe('medianOfRounds', function () {
  it('runs every timing once a round, interleaved, and keeps each one\'s median result with its CPU share', async function () {
    const calls: string[] = [];
    const series = (name: string, values: [number, number][]) => async () => {
      calls.push(name);
      const [ms, cpuShare] = values.shift() ?? [NaN, NaN];
      return { ms, cpuShare };
    };
    const median = await medianOfRounds(3, [series('a', [[5, 1], [3, 0.4], [4, 0.8]]), series('b', [[2, 0.9], [9, 1], [7, 0.7]])]);
    assert.deepEqual(median, [{ ms: 4, cpuShare: 0.8 }, { ms: 7, cpuShare: 0.7 }]);
    assert.deepEqual(calls, ['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('of an even count the lower middle one; at least one round; no timings gives no results', async function () {
    let calls = 0;
    assert.deepEqual(await medianOfRounds(4, [async () => ({ ms: [8, 2, 6, 4][calls++] ?? NaN, cpuShare: 1 })]), [{ ms: 4, cpuShare: 1 }]);
    calls = 0;
    assert.deepEqual(await medianOfRounds(0, [async () => ({ ms: ++calls, cpuShare: 1 })]), [{ ms: 1, cpuShare: 1 }]);
    assert.deepEqual(await medianOfRounds(2, []), []);
  });
});
