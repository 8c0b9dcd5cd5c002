// The fast search end to end on a model whose answer is known: convA's weight is exactly Tucker rank
// 2 (no error at any rank >= 2, so the allocator must take it first), convB is full rank (error falls
// with the rank). Also: the measured layer errors against the rewritten layer run in onnxruntime,
// bias correction, the front's order, the honesty labels, a point's plan through compressModel, and
// cancellation.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SharedCancelFlag } from '../../../engine/cancellation';
import { compressModel } from '../../../engine/factorize/compressModel';
import { factorsAtRank, layerBasis } from '../../../engine/factorize/layerBasis';
import { readRankPlan, writeRankPlan } from '../../../engine/factorize/rankPlan';
import { rewriteModel } from '../../../engine/factorize/rewriteModel';
import { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { applyBiasShifts } from '../../../engine/search/biasCorrection';
import type { FastSearchOutcome } from '../../../engine/search/fastSearch';
import { measureLayerErrors } from '../../../engine/search/measureLayerErrors';
import { pointPlan } from '../../../engine/search/searchResult';
import { expectHalocError, layerNamed, makeTempDir, removeDir } from '../testSupport';
import { knownAnswerCase, knownAnswerModelProto, searchKnownAnswer } from './searchSupport';

/** Runs a model on images and returns the named tensors (exposed as outputs). */
async function runExposing(proto: onnx.IModelProto, images: Float32Array, count: number, tensors: readonly string[]): Promise<Record<string, Float32Array>> {
  const graph = proto.graph ?? {};
  const exposed = { ...proto, graph: { ...graph, output: [...(graph.output ?? []), ...tensors.map((name) => onnx.ValueInfoProto.create({ name }))] } };
  const session = await ort.InferenceSession.create(encodeOnnx(exposed), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', images, [count, 3, 8, 8]) });
    return Object.fromEntries(tensors.map((t) => [t, out[t]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function relativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
    norm += (b[i] ?? 0) ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** Per-channel means of an NCHW tensor. */
function channelMeans(values: Float32Array, count: number, channels: number): Float64Array {
  const positions = values.length / count / channels;
  const means = new Float64Array(channels);
  for (let n = 0; n < count; n++) for (let c = 0; c < channels; c++) for (let p = 0; p < positions; p++) means[c]! += (values[(n * channels + c) * positions + p] ?? 0) / (count * positions);
  return means;
}

describe('search: fast data-aware search', function () {
  this.timeout(120000);
  let outcome: FastSearchOutcome;
  let tempDir: string | undefined;

  before(async () => {
    outcome = await searchKnownAnswer();
  });
  after(() => removeDir(tempDir));

  it('measures the output error of every rank as the rewritten layer really makes it, and the bias shift with the right sign', async () => {
    const c = await knownAnswerCase();
    const convB = layerNamed(c.analysis, 'convB');
    const basis = await layerBasis(c.model, convB);
    const ranks = [2, 6];
    const factors = await Promise.all(ranks.map((r) => factorsAtRank(basis, r)));
    // one error model for both ranks, from the factors of the larger (the smaller's are their leading part)
    const convBJob = { layer: convB, ranks, factors: () => Promise.resolve(factors[1]!) };
    const { errors } = await measureLayerErrors(c.model, [convBJob], c.data, c.calibration, { batchSize: 16, threads: 1 });
    const measured = errors.get('convB');
    assert.ok(measured);
    const calibrationImages = new Float32Array(c.calibration.length * 192);
    c.calibration.forEach((index, i) => calibrationImages.set(c.data.images.subarray(index * 192, (index + 1) * 192), i * 192));
    const original = (await runExposing(c.model.proto, calibrationImages, c.calibration.length, ['b']))['b']!;
    for (const [k, rank] of ranks.entries()) {
      // Only convB is rewritten, so its input is the original's: the error is the layer's alone.
      const rewritten = rewriteModel(c.model, [{ layer: convB, factors: factors[k]! }]);
      const plain = (await runExposing(rewritten, calibrationImages, c.calibration.length, ['b']))['b']!;
      const expected = relativeDifference(plain, original);
      assert.ok(Math.abs((measured.rawRelError[k] ?? NaN) - expected) < 1e-4 * Math.max(1, expected), `rank ${rank}: measured ${measured.rawRelError[k]} against ${expected} in onnxruntime`);
      const corrected = applyBiasShifts(c.model, rewritten, [{ layer: convB, shift: measured.shift[k]! }]);
      const shifted = (await runExposing(corrected, calibrationImages, c.calibration.length, ['b']))['b']!;
      const [meanOriginal, meanShifted, meanPlain] = [channelMeans(original, c.calibration.length, 8), channelMeans(shifted, c.calibration.length, 8), channelMeans(plain, c.calibration.length, 8)];
      for (let ch = 0; ch < 8; ch++) assert.ok(Math.abs(meanShifted[ch]! - meanOriginal[ch]!) < 1e-4, `rank ${rank} channel ${ch}: corrected mean ${meanShifted[ch]} against the original ${meanOriginal[ch]} (uncorrected ${meanPlain[ch]})`);
      const after = relativeDifference(shifted, original);
      assert.ok(Math.abs((measured.relError[k] ?? NaN) - after) < 1e-4 * Math.max(1, after), `rank ${rank}: corrected error ${measured.relError[k]} against ${after}`);
      assert.ok(after <= expected + 1e-9, 'bias correction never increases the error on the calibration images');
    }
    assert.ok((measured.rawRelError[0] ?? 0) > (measured.rawRelError[1] ?? 0), 'a lower rank of a full-rank layer has a larger error');

    // Layers measured in separate passes over the images (as large models are) give the same numbers.
    const fc = layerNamed(c.analysis, 'fc');
    const fcFactors = await factorsAtRank(await layerBasis(c.model, fc), 2);
    const jobs = [convBJob, { layer: fc, ranks: [2], factors: () => Promise.resolve(fcFactors) }];
    const together = await measureLayerErrors(c.model, jobs, c.data, c.calibration, { batchSize: 16, threads: 1 });
    const apart = await measureLayerErrors(c.model, jobs, c.data, c.calibration, { batchSize: 16, threads: 1, groupBytes: 1 });
    assert.deepEqual(apart.errors, together.errors);
    // So do error models run on one image at a time (as the large activations of big images are), and a
    // tap budget too small to keep every image's activations (the tap and the error models then stay
    // open together, one image per batch) against the default (the tap closed before the error models).
    const sliced = await measureLayerErrors(c.model, jobs, c.data, c.calibration, { batchSize: 16, threads: 1, runBytes: 1 });
    const interleaved = await measureLayerErrors(c.model, jobs, c.data, c.calibration, { batchSize: 16, threads: 1, tapBytes: 1 });
    for (const other of [sliced, interleaved]) {
      assert.equal(other.images, together.images);
      for (const [name, errors] of together.errors) {
        const one = other.errors.get(name);
        errors.relError.forEach((e, k) => assert.ok(Math.abs((one?.relError[k] ?? NaN) - e) < 1e-5 * Math.max(1, e), `${name} rank ${errors.ranks[k]}: ${one?.relError[k]} against ${e}`));
      }
    }
    assert.ok((together.errors.get('fc')?.relError[0] ?? 0) > 0.01, 'the Gemm layer has an error at rank 2');
  });

  it('finds that the exactly low-rank layer costs no error and compresses it first, at its cheapest rank', () => {
    const { result } = outcome;
    const convA = result.layers.find((l) => l.name === 'convA');
    const convB = result.layers.find((l) => l.name === 'convB');
    assert.ok(convA && convB);
    for (const c of convA.candidates) assert.ok(c.relError < 1e-4, `convA at rank ${c.rank}: error ${c.relError}`);
    for (const c of convB.candidates.filter((c) => c.rank !== 'keep' && c.rank < 8)) assert.ok(c.relError > 0.05, `convB at rank ${c.rank}: error ${c.relError}`);
    const first = result.front[0];
    assert.ok(first);
    assert.deepEqual(first.ranks, { convA: 2, convB: 'keep', fc: 'keep' }, 'the first point compresses only convA, at rank 2');
    assert.ok((first.predictedLogitsError ?? 1) < 1e-4, `predicted logits error ${first.predictedLogitsError}`);
    assert.ok(first.logitsError < 1e-4, `measured logits error ${first.logitsError}`);
    assert.equal(first.agreement, 1);
    assert.equal(first.accuracyDelta.value, 0);
    for (const point of result.front) assert.equal(point.ranks.convA, 2, 'every point keeps convA at its free rank');
  });

  it('orders the front by latency falling and error rising, within the table\'s range', () => {
    const { result } = outcome;
    assert.ok(result.front.length >= 4, `${result.front.length} points`);
    assert.ok(result.hull.length >= result.front.length);
    for (let i = 1; i < result.front.length; i++) {
      const [a, b] = [result.front[i - 1]!, result.front[i]!];
      assert.ok(b.latencyMs.value < a.latencyMs.value, `latency falls at point ${i}`);
      assert.ok((b.predictedLogitsError ?? 0) >= (a.predictedLogitsError ?? 0) - 1e-12, `predicted error rises at point ${i}`);
      assert.ok(b.lambda >= a.lambda, `lambda grows at point ${i}`);
    }
    for (let i = 1; i < result.hull.length; i++) assert.ok(result.hull[i]!.latencyMs < result.hull[i - 1]!.latencyMs);
    const cheapest = result.front.at(-1)!;
    assert.deepEqual(cheapest.ranks, { convA: 2, convB: 2, fc: 2 }, 'the cheapest point takes every layer\'s fastest rank');
    assert.ok(Math.abs(cheapest.latencyMs.value - (0.2 + 0.3 + 0.3 + 0.06)) < 1e-9, 'latency = untouched + table entries');
    assert.ok(Math.abs(result.original.latencyMs.value - (0.2 + 1 + 1 + 0.1)) < 1e-9);
  });

  it('labels every number with where it comes from', async () => {
    const { result } = outcome;
    assert.equal(result.format, 'haloc-search-result');
    assert.equal(result.mode, 'fast');
    assert.equal(result.data.test.heldOut, true);
    for (const point of [...result.front, ...result.baselines]) {
      assert.equal(point.latencyMs.kind, 'measured-table');
      assert.equal(point.accuracyDelta.kind, 'measured');
      assert.match(point.accuracyDelta.label, /measured on held-out data, before fine-tuning/);
      assert.equal(point.fineTuned, false);
      assert.equal(point.biasCorrected, true);
      assert.equal(point.accuracyDelta.value, 100 * ((point.top1 ?? NaN) - (result.original.top1 ?? NaN)));
    }
    assert.deepEqual(result.baselines.map((b) => b.kind), ['uniform', 'energy', 'flops-fast', 'flops-fast']);
    assert.ok(result.notes.some((n) => /NOT fine-tuned/.test(n)));
    const json = JSON.parse(JSON.stringify(result)) as { original: Record<string, unknown>; front: Record<string, unknown>[] };
    for (const key of ['macs', 'params', 'latencyMs', 'top1']) assert.ok(key in json.original, `original.${key}`);
    for (const key of ['ranks', 'macs', 'params', 'latencyMs', 'accuracyDelta']) assert.ok(key in (json.front[0] ?? {}), `front[0].${key}`);

    // Test images that may overlap the calibration images, or have no labels: estimates, said so.
    const c = await knownAnswerCase();
    const overlapping = await searchKnownAnswer({ test: { dataset: c.data, indices: c.calibration, source: 'the calibration images', heldOut: false }, frontPoints: 2, flopsPoints: 0 });
    for (const point of overlapping.result.front) assert.equal(point.accuracyDelta.kind, 'estimated');
    const { labels, ...unlabelled } = c.data;
    assert.ok(labels, 'the synthetic data is labelled; the copy without labels is not');
    const blind = await searchKnownAnswer({ test: { dataset: unlabelled, indices: c.test, source: 'unlabelled', heldOut: true }, frontPoints: 2, flopsPoints: 0 });
    assert.equal(blind.result.original.top1, null);
    for (const point of blind.result.front) {
      assert.equal(point.accuracyDelta.kind, 'estimated');
      assert.match(point.accuracyDelta.label, /agreement/);
      assert.equal(point.accuracyDelta.value, -100 * (1 - point.agreement));
    }
  });

  it('writes a front point as a plan that compressModel accepts, with the same MACs', async () => {
    tempDir = makeTempDir('haloc-search-');
    const modelPath = path.join(tempDir, 'known_answer.onnx');
    fs.writeFileSync(modelPath, encodeOnnx(knownAnswerModelProto()));
    const { result } = outcome;
    const point = result.front[Math.floor(result.front.length / 2)]!;
    const planPath = path.join(tempDir, 'point.ranks.json');
    writeRankPlan(planPath, pointPlan(result, point, 'a test point'));
    const plan = readRankPlan(planPath);
    assert.equal(plan.source?.kind, 'fast');
    const report = await compressModel(modelPath, { choice: { kind: 'plan', plan, origin: planPath }, outputPath: path.join(tempDir, 'compressed.onnx') });
    assert.equal(report.totals.macsAfter, point.macs);
    assert.equal(report.totals.paramsAfter, point.params);
    assert.deepEqual(report.plan.ranks, point.ranks);
  });

  it('stops with CANCELLED when cancelled in any phase', async () => {
    for (const phase of ['errors', 'sensitivity', 'evaluate']) {
      const cancel = new SharedCancelFlag();
      const error = await expectHalocError(() => searchKnownAnswer({ cancel, progress: (p) => p.phase === phase && cancel.cancel() }), 'CANCELLED', `a search cancelled in phase ${phase}`);
      assert.match(error.message, /cancel/);
    }
  });
});
