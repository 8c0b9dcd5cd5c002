// Per-layer verdicts from a latency table: the fastest rank and its speedup, the largest rank still
// faster than the original, and "fewer MACs, not faster" (the layer saves MACs at some rank but no
// candidate rank is faster on this target). Synthetic tables, plus the CLI showing the note.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { LayerAnalysis } from '../../../engine/graph/analyzeModel';
import { layerKey, type LayerLatency } from '../../../engine/hardware/latencyTable';
import { layerSpeedups, type LayerSpeedup } from '../../../engine/hardware/layerSpeedups';
import { writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { layerNamed, makeTempDir, removeDir, runHaloc } from '../testSupport';
import { analyzed, syntheticTable, twinConvModel, type Analyzed } from './hardwareSupport';

const entry = (originalMs: number, ranks: readonly (readonly [number, number])[]): LayerLatency => ({ op: 'Conv', originalMs, ranks: ranks.map(([rank, ms]) => ({ rank, ms })), granularity: 4 });

describe('layerSpeedups', function () {
  let twin: Analyzed;
  let conv1: LayerAnalysis;
  let fc: LayerAnalysis;

  before(async function () {
    twin = await analyzed(twinConvModel(), 1);
    conv1 = layerNamed(twin.analysis, 'conv1');
    fc = layerNamed(twin.analysis, 'fc');
    assert.equal(conv1.breakEvenRank, 7, 'conv1 (8 -> 8, 3x3) saves MACs up to rank 7');
    assert.ok((fc.breakEvenRank ?? 0) >= 1);
  });

  /** The verdict of one layer under one entry (the key is its real layer key). */
  function verdict(layer: LayerAnalysis, latency: LayerLatency, kind: 'measured' | 'estimated' = 'measured'): LayerSpeedup {
    const key = layerKey(twin.model, layer);
    const verdicts = layerSpeedups([layer], syntheticTable({ [key]: latency }, kind), { [layer.name]: key });
    assert.equal(verdicts.length, 1);
    return verdicts[0] as LayerSpeedup;
  }

  it('every rank slower than the original: "fewer MACs, not faster", no best rank', function () {
    const v = verdict(conv1, entry(1, [[4, 1.2], [8, 1.5]]));
    assert.deepEqual(v, { name: 'conv1', originalMs: 1, bestRank: null, bestMs: null, bestSpeedup: null, fasterUpToRank: null, fewerMacsNotFaster: true, kind: 'measured' });
  });

  it('a rank exactly as fast as the original is not faster', function () {
    const v = verdict(conv1, entry(1, [[4, 1], [8, 1.1]]));
    assert.equal(v.fewerMacsNotFaster, true);
    assert.equal(v.bestRank, null);
    assert.equal(v.fasterUpToRank, null);
  });

  it('one faster rank: not flagged; bestRank, bestMs, bestSpeedup = original / best, fasterUpToRank', function () {
    const v = verdict(conv1, entry(1, [[4, 0.8], [8, 1.3]]));
    assert.equal(v.fewerMacsNotFaster, false);
    assert.equal(v.bestRank, 4);
    assert.equal(v.bestMs, 0.8);
    assert.equal(v.bestSpeedup, 1 / 0.8);
    assert.equal(v.fasterUpToRank, 4);
  });

  it('the fastest rank need not be the smallest; fasterUpToRank is the largest faster rank', function () {
    const v = verdict(fc, entry(2, [[4, 1.5], [8, 0.8], [12, 1.9], [16, 2.4]]));
    assert.equal(v.bestRank, 8);
    assert.equal(v.bestMs, 0.8);
    assert.equal(v.bestSpeedup, 2.5);
    assert.equal(v.fasterUpToRank, 12);
    assert.equal(v.fewerMacsNotFaster, false);
  });

  it('equal fastest times: the smaller rank wins', function () {
    const v = verdict(fc, entry(2, [[4, 1], [8, 1], [10, 1.5]]));
    assert.equal(v.bestRank, 4);
    assert.equal(v.bestSpeedup, 2);
    assert.equal(v.fasterUpToRank, 10);
  });

  it('a layer that saves no MACs at any rank is not flagged even when never faster', function () {
    const noSaving: LayerAnalysis = { ...conv1, breakEvenRank: 0 };
    const v = verdict(noSaving, entry(1, [[4, 1.2], [8, 1.5]]));
    assert.equal(v.fewerMacsNotFaster, false);
    assert.equal(v.bestRank, null);
  });

  it('the table kind is passed on (estimated verdicts stay labelled)', function () {
    assert.equal(verdict(conv1, entry(1, [[4, 0.5]]), 'estimated').kind, 'estimated');
  });

  it('layers without an entry and layers that are not compressible are left out; twin layers share a verdict', function () {
    const key = layerKey(twin.model, conv1);
    const verdicts = layerSpeedups(twin.analysis.layers, syntheticTable({ [key]: entry(1, [[4, 0.5], [8, 0.9]]) }), { conv1: key, conv2: key, fc: 'no such key' });
    assert.deepEqual(verdicts.map((v) => v.name), ['conv1', 'conv2']);
    assert.deepEqual({ ...verdicts[0], name: '' }, { ...verdicts[1], name: '' });
    const notCompressible: LayerAnalysis = { ...conv1, compressible: false };
    assert.deepEqual(layerSpeedups([notCompressible], syntheticTable({ [key]: entry(1, [[4, 0.5]]) }), { conv1: key }), []);
  });
});

describe('haloc profile shows "fewer MACs, not faster"', function () {
  this.timeout(30_000);
  let dir: string | undefined;
  let modelFile: string;

  before(function () {
    dir = makeTempDir('haloc-speedups-cli-');
    modelFile = path.join(dir, 'twin.onnx');
    writeOnnxFile(twinConvModel(), modelFile);
  });

  after(function () {
    removeDir(dir);
  });

  // Tiny layers on the desktop GPU profile: 5 us per kernel dominates, so two or three kernels are
  // always slower than one, although the factorization saves MACs at low ranks.
  it('--target desktop-gpu --granularity 1: every tiny layer is flagged in the JSON and in the table', async function () {
    const json = await runHaloc(['profile', modelFile, '--target', 'desktop-gpu', '--granularity', '1', '--json']);
    assert.equal(json.code, 0, `exit code (stderr: ${json.stderr})`);
    const { speedups } = JSON.parse(json.stdout) as { speedups: LayerSpeedup[] };
    assert.deepEqual(speedups.map((s) => s.name), ['conv1', 'conv2', 'fc']);
    for (const s of speedups) {
      assert.equal(s.fewerMacsNotFaster, true, `${s.name} is flagged`);
      assert.equal(s.bestRank, null);
      assert.equal(s.kind, 'estimated');
    }
    const text = await runHaloc(['profile', modelFile, '--target', 'desktop-gpu', '--granularity', '1']);
    assert.equal(text.code, 0);
    assert.equal(text.stdout.match(/fewer MACs, not faster/g)?.length, 3, text.stdout);
  });
});
