// The editor's search job on the known-answer model: fast mode with a labelled image folder gives the
// same front as `haloc search` with the same settings, plus the layer views; the data-free preview
// runs on synthetic unlabelled images and labels every accuracy figure estimated; the HALOC mode needs
// data and runs with it; progress is in order; a cancelled job stops with CANCELLED.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { neverCancelled, SharedCancelFlag } from '../../../engine/cancellation';
import type { HalocSearchResult } from '../../../engine/search/halocSearch';
import { runCompressJob } from '../../../engine/search/compressJob';
import { resultPoints } from '../../../engine/search/resultView';
import { runSearchJob, type SearchJobResult } from '../../../engine/search/searchJob';
import type { FastSearchResult } from '../../../engine/search/searchResult';
import { expectHalocError, makeTempDir, removeDir, runHaloc, sharedModel, skipSuiteWithoutSharedModels } from '../testSupport';
import { fastJobSettings, writeJobFiles, type JobFiles } from './jobSupport';

describe('search: the editor\'s search job', function () {
  this.timeout(120000);
  let dir = '';
  let files: JobFiles;
  let withData: SearchJobResult;
  const fractions: number[] = [];
  const messages: string[] = [];

  before(async () => {
    dir = makeTempDir('haloc-search-job-');
    files = await writeJobFiles(dir);
    withData = await runSearchJob(fastJobSettings(files), neverCancelled, (message, fraction) => {
      messages.push(message);
      if (fraction !== undefined) fractions.push(fraction);
    });
  });
  after(() => removeDir(dir));

  it('fast mode with data: the same front as haloc search with the same settings, and the layer views', async () => {
    const result = withData.result as FastSearchResult;
    assert.equal(result.mode, 'fast');
    assert.equal(result.data.calibration.images, 40);
    assert.equal(result.data.test.labelled, true);
    assert.deepEqual(result.front[0]?.ranks, { convA: 2, convB: 'keep', fc: 'keep' }, 'convA is exactly Tucker rank 2: the cheapest free saving comes first');
    for (const point of result.front) assert.equal(point.accuracyDelta.kind, 'measured');
    const cli = await runHaloc(['search', files.modelPath, '--data', files.dataDir, '--mode', 'fast', '--target', files.tablePath, '--scale', '1/255', '--calibration', '40', '--points', '4', '--threads', '1', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const expected = JSON.parse(cli.stdout) as FastSearchResult;
    assert.deepEqual(result.front.map((p) => [p.ranks, p.top1]), expected.front.map((p) => [p.ranks, p.top1]));
    assert.deepEqual(result.baselines.map((p) => p.name), expected.baselines.map((p) => p.name));
    assert.deepEqual(withData.layers.map((l) => l.name), ['convA', 'convB', 'fc']);
    const convA = withData.layers[0]!;
    assert.equal(convA.granularity, 2);
    assert.ok(convA.errorByRank[2]! < 1e-4, `convA has Tucker rank 2: no error at rank 2 (${convA.errorByRank[2]})`);
    assert.equal(convA.notWorth, null);
  });

  it('reports progress with phase text and a fraction that only grows, within 0..1', () => {
    assert.ok(messages.some((m) => m.startsWith('errors:')) && messages.some((m) => m.startsWith('evaluate:')), messages.join(' | '));
    assert.ok(fractions.length > 3);
    fractions.forEach((f, i) => assert.ok(f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]! - 1e-9), `fraction ${i}: ${fractions[i - 1]} -> ${f}`));
  });

  it('data-free: a preview on synthetic unlabelled images of the input shape, every accuracy figure estimated', async () => {
    const { result } = await runSearchJob(fastJobSettings(files, { data: null, fast: { calibration: 32, points: 3 } }), neverCancelled, () => undefined);
    assert.equal(result.mode, 'fast');
    if (result.mode !== 'fast') return;
    assert.equal(result.data.test.labelled, false);
    assert.equal(result.original.top1, null);
    assert.match(result.data.calibration.source, /synthetic 3x8x8 images \(data-free preview/);
    assert.ok(result.front.length > 0);
    for (const point of [...result.front, ...result.baselines]) {
      assert.equal(point.accuracyDelta.kind, 'estimated', point.accuracyDelta.label);
      assert.equal(point.top1, null);
    }
    assert.match(result.notes[0] ?? '', /data-free preview/);
  });

  it('HALOC mode needs data: a clear error without, a fine-tuned front with', async () => {
    const error = await expectHalocError(() => runSearchJob(fastJobSettings(files, { mode: 'haloc', data: null }), neverCancelled, () => undefined), 'BAD_ARGUMENT');
    assert.match(error.message, /needs a labelled dataset/);
    const workDir = path.join(dir, 'haloc-work');
    const { result, layers } = await runSearchJob(fastJobSettings(files, { mode: 'haloc', budget: 0.6, workDir, haloc: { searchEpochs: 2, finetuneEpochs: 1, batchSize: 16 } }), neverCancelled, () => undefined);
    const haloc = result as HalocSearchResult;
    assert.equal(haloc.mode, 'haloc');
    assert.deepEqual(haloc.front.map((p) => p.budget), [0.6]);
    assert.equal(path.dirname(haloc.front[0]!.onnx), workDir);
    assert.equal(layers.length, 3);
  });

  it('stops with CANCELLED when its cancel flag is set during the search', async () => {
    const flag = new SharedCancelFlag();
    const started = performance.now();
    await expectHalocError(() => runSearchJob(fastJobSettings(files), flag, (message) => message.startsWith('errors:') && flag.cancel()), 'CANCELLED');
    assert.ok(performance.now() - started < 30000);
  });
});

describe('search: the search and compress jobs on mnist-8, data-free, against an analytic profile', function () {
  this.timeout(120000);
  let dir = '';
  before(function () {
    skipSuiteWithoutSharedModels(this);
    dir = makeTempDir('haloc-mnist-job-');
  });
  after(() => removeDir(dir));

  it('previews the front on synthetic 1x28x28 images and writes a point that loads in onnxruntime', async () => {
    const modelPath = path.join(dir, 'mnist-8.onnx');
    fs.copyFileSync(sharedModel('mnist-8.onnx'), modelPath);
    const settings = { ...fastJobSettings({ modelPath, tablePath: '', dataDir: '' }, { target: 'embedded-gpu', data: null, fast: { calibration: 16, points: 3 }, threads: 0 }) };
    const { result, layers } = await runSearchJob(settings, neverCancelled, () => undefined);
    assert.equal(result.mode, 'fast');
    assert.equal(result.target.kind, 'estimated');
    assert.ok(layers.length >= 2);
    const points = resultPoints(result);
    assert.ok(points.length > 0);
    for (const p of points) assert.equal(p.accuracyDelta.kind, 'estimated');
    const point = points[0]!;
    const report = await runCompressJob({ search: settings, point: { id: point.id, name: point.name, ranks: point.ranks, onnx: null }, outputPath: path.join(dir, 'out.onnx') }, neverCancelled, () => undefined);
    assert.equal(report.top1, null);
    assert.ok(report.latencyMs.after > 0);
    const session = await ort.InferenceSession.create(report.outputPath);
    await session.release();
  });
});
