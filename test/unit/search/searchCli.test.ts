// `haloc search` (--mode fast and --mode haloc) end to end on the known-answer model and a small PNG
// image folder, with a latency table file as the target: the printed front, result.json, a point
// written as a plan that `haloc compress --plan` accepts (and, fast, as the bias-corrected model), and
// the usage errors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { writeLatencyTable } from '../../../engine/hardware/latencyTable';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import type { HalocSearchResult } from '../../../engine/search/halocSearch';
import type { FastSearchResult } from '../../../engine/search/searchResult';
import { encodePng, rgbImage, writeFiles } from '../data/dataTestSupport';
import { makeTempDir, removeDir, runHaloc } from '../testSupport';
import { knownAnswerLatency, knownAnswerModelProto } from './searchSupport';

describe('search: haloc search', function () {
  this.timeout(120000);
  let dir = '';
  let modelPath = '';
  let tablePath = '';
  let dataDir = '';
  let savedCache: string | undefined;

  before(async () => {
    dir = makeTempDir('haloc-search-cli-');
    savedCache = process.env.HALOC_CACHE_DIR;
    process.env.HALOC_CACHE_DIR = path.join(dir, 'cache');
    modelPath = path.join(dir, 'known_answer.onnx');
    fs.writeFileSync(modelPath, encodeOnnx(knownAnswerModelProto()));
    const model = readOnnxModel(modelPath);
    tablePath = path.join(dir, 'table.json');
    writeLatencyTable(tablePath, knownAnswerLatency(model, await analyzeModel(model, { batch: 1 })).table);
    dataDir = path.join(dir, 'images');
    const files: Record<string, Uint8Array> = {};
    for (let c = 0; c < 4; c++) for (let i = 0; i < 30; i++) files[`class${c}/${i}.png`] = encodePng(rgbImage(8, 8, (y, x, ch) => (37 * c + 11 * i + 5 * y + 3 * x + 50 * ch) % 256), 8, 8);
    writeFiles(dataDir, files);
  });
  after(() => {
    if (savedCache === undefined) delete process.env.HALOC_CACHE_DIR;
    else process.env.HALOC_CACHE_DIR = savedCache;
    removeDir(dir);
  });

  const common = (mode = 'fast', calibration = '40'): string[] => ['search', modelPath, '--data', dataDir, '--mode', mode, '--target', tablePath, '--scale', '1/255', '--calibration', calibration, '--probe-images', '16', '--points', '4', '--threads', '1'];

  it('prints the front and the baselines, writes result.json, a plan for compress --plan and the measured model', async () => {
    const [resultPath, planPath, pointPath] = ['result.json', 'point.ranks.json', 'point.onnx'].map((f) => path.join(dir, f)) as [string, string, string];
    const run = await runHaloc([...common(), '-o', resultPath, '--plan-out', planPath, '--point', '0', '--onnx-out', pointPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /NOT fine-tuned/);
    assert.match(run.stdout, /baselines \(same bias correction and evaluation\)/);
    assert.match(run.stdout, /uniform 0\.55/);
    const result = JSON.parse(fs.readFileSync(resultPath, 'utf8')) as FastSearchResult;
    assert.equal(result.data.calibration.images, 40);
    assert.equal(result.data.test.images, 80);
    assert.equal(result.data.test.heldOut, true);
    assert.equal(result.target.kind, 'measured-table');
    assert.ok(result.front.length >= 2);
    assert.deepEqual(result.front[0]?.ranks, { convA: 2, convB: 'keep', fc: 'keep' });
    assert.ok(result.seconds.total !== undefined && result.seconds.total > 0);
    const compressed = await runHaloc(['compress', modelPath, '--plan', planPath, '-o', path.join(dir, 'compressed.onnx')]);
    assert.equal(compressed.code, 0, compressed.stderr);
    assert.ok(fs.existsSync(pointPath), 'the bias-corrected model of the point');
    const evaluated = await runHaloc(['eval', pointPath, '--data', dataDir, '--scale', '1/255', '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
  });

  it('says that accuracy is estimated when the test images may include the calibration images', async () => {
    const run = await runHaloc([...common(), '--eval-data', dataDir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as FastSearchResult;
    assert.equal(result.data.test.heldOut, false);
    assert.equal(result.data.test.images, 120);
    for (const point of [...result.front, ...result.baselines]) assert.equal(point.accuracyDelta.kind, 'estimated');
  });

  it('--mode haloc searches, fine-tunes and measures, prints the front, writes result.json and a point as a plan', async () => {
    const [resultPath, planPath, workDir] = ['haloc.json', 'haloc.ranks.json', 'haloc-work'].map((f) => path.join(dir, f)) as [string, string, string];
    const run = await runHaloc(['search', modelPath, '--data', dataDir, '--mode', 'haloc', '--target', tablePath, '--scale', '1/255', '--threads', '1', '--budget', '0.6,0.9', '--epochs', '2', '--finetune-epochs', '1', '--batch-size', '16', '--baselines', 'uniform', '--work-dir', workDir, '-o', resultPath, '--plan-out', planPath, '--point', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /HALOC search \(cost: latency\)/);
    assert.match(run.stdout, /baselines \(same fine-tuning, at the MACs of the first point\)/);
    const result = JSON.parse(fs.readFileSync(resultPath, 'utf8')) as HalocSearchResult;
    assert.equal(result.mode, 'haloc');
    assert.deepEqual(result.front.map((p) => p.budget), [0.6, 0.9]);
    assert.equal(result.data.test.images, 12, 'a held-out tenth of the 120 images');
    assert.equal(result.data.test.heldOut, true);
    for (const point of result.front) {
      assert.ok(fs.existsSync(point.onnx) && path.dirname(point.onnx) === workDir);
      assert.equal(point.accuracyDelta.kind, 'measured');
    }
    assert.deepEqual((JSON.parse(fs.readFileSync(planPath, 'utf8')) as { ranks: unknown }).ranks, result.front[1]!.ranks);
    const compressed = await runHaloc(['compress', modelPath, '--plan', planPath, '-o', path.join(dir, 'from-haloc-plan.onnx')]);
    assert.equal(compressed.code, 0, compressed.stderr);
  });

  it('answers wrong usage with exit code 2 and too little data with 1', async () => {
    assert.equal((await runHaloc(['search', modelPath, '--mode', 'fast'])).code, 2, 'no --data');
    assert.equal((await runHaloc([...common(), '--point', '0'])).code, 2, '--point without --plan-out');
    assert.equal((await runHaloc(common('slow'))).code, 2, 'unknown mode');
    const haloc = ['search', modelPath, '--data', dataDir, '--mode', 'haloc', '--target', tablePath, '--scale', '1/255'];
    assert.equal((await runHaloc([...haloc, '--cost', 'flops'])).code, 2, 'unknown cost');
    assert.equal((await runHaloc([...common('haloc')])).code, 2, '--calibration and --probe-images are not haloc options');
    assert.equal((await runHaloc([...haloc, '--point', '0'])).code, 2, '--point without --plan-out');
    assert.equal((await runHaloc([...haloc, '--plan-out', path.join(dir, 'p.json'), '--point', '1'])).code, 2, 'no point 1 with one budget');
    assert.equal((await runHaloc([...common(), '--finetune-epochs', '2'])).code, 2, 'a haloc option in fast mode');
    assert.equal((await runHaloc([...haloc, '--budget', '1.5'])).code, 2, 'budget above 1');
    assert.equal((await runHaloc([...haloc, '--baselines', 'uniform,random'])).code, 2, 'unknown baseline');
    const tooFew = await runHaloc(common('fast', '500'));
    assert.equal(tooFew.code, 1);
    assert.match(tooFew.stderr, /--eval-data/);
  });
});
