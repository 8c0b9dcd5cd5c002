// The whole HALOC run (search, fine-tuning, measurement) on the known-answer model: the result's
// figures and honesty labels, the baselines at the first point's MACs, the written models, and a run
// cancelled during fine-tuning that --resume finishes without searching again, ending where an
// uninterrupted run ends.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { HalocError } from '../../../engine/errors';
import { halocSearch, matchMacs, type HalocProgress, type HalocSearchSettings } from '../../../engine/search/halocSearch';
import { uniformRanks } from '../../../engine/search/baselines';
import { pointSize } from '../../../engine/search/pointModel';
import { prepareSearchLayers } from '../../../engine/search/searchLayers';
import { makeTempDir, removeDir } from '../testSupport';
import { knownAnswerCase } from './searchSupport';

describe('search: the HALOC run (search, fine-tune, measure)', function () {
  this.timeout(240000);
  let dir = '';
  before(() => {
    dir = makeTempDir('haloc-run-');
  });
  after(() => removeDir(dir));

  const settings = async (workDir: string, over: Partial<HalocSearchSettings> = {}): Promise<HalocSearchSettings> => {
    const c = await knownAnswerCase();
    return {
      model: c.model, analysis: c.analysis, latency: c.latency,
      train: { dataset: c.data, indices: c.test, source: 'synthetic training split' },
      test: { dataset: c.data, indices: c.calibration, source: 'synthetic test split', heldOut: true },
      budgets: [0.6], searchEpochs: 4, finetuneEpochs: 2, batchSize: 16, seed: 2, threads: 1, workDir, ...over,
    };
  };

  it('measures each point and the baselines after fine-tuning, with honest labels, and writes their models', async () => {
    const phases = new Set<string>();
    const result = await halocSearch(await settings(path.join(dir, 'full'), { budgets: [0.6, 0.9], baselines: ['uniform', 'energy', 'flops'], progress: (p) => phases.add(p.phase) }));
    assert.deepEqual([...phases].sort(), ['evaluate', 'finetune', 'prepare', 'search']);
    assert.equal(result.mode, 'haloc');
    assert.deepEqual(result.front.map((p) => p.budget), [0.6, 0.9]);
    assert.deepEqual(result.baselines.map((p) => p.kind), ['uniform', 'energy', 'flops']);
    assert.ok(result.original.top1 !== null && result.original.measuredLatencyMs > 0);
    for (const point of [...result.front, ...result.baselines]) {
      assert.equal(point.accuracyDelta.kind, 'measured');
      assert.match(point.accuracyDelta.label, /after 2 epoch\(s\) of fine-tuning/);
      assert.equal(point.fineTuned, true);
      assert.equal(point.latencyMs.kind, 'measured-table');
      assert.ok(Math.abs(point.accuracyDelta.value! - 100 * (point.top1! - result.original.top1!)) < 1e-9);
      assert.ok(point.measuredLatencyMs > 0 && point.latencyMs.value < result.original.latencyMs.value, `${point.name} is predicted faster than the original`);
      assert.ok(Math.abs(point.macsReduction - (1 - point.macs / result.original.macs)) < 1e-12);
      for (const rank of Object.values(point.ranks)) assert.ok(rank === 'keep' || (rank >= 1 && rank <= 8));
      const session = await ort.InferenceSession.create(point.onnx);
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(3 * 64).fill(0.5), [1, 3, 8, 8]) });
      await session.release();
      assert.ok([...(out.logits!.data as Float32Array)].every(Number.isFinite), `${point.name} runs`);
      assert.ok(!fs.existsSync(`${point.onnx}.ckpt`), 'no checkpoint left after a finished fine-tuning');
    }
    // the predicted latency of a point is its ranks' table entries plus the untouched part
    const anchor = result.front[0]!;
    const expected = 0.2 + Object.entries(anchor.ranks).reduce((s, [name, rank]) => s + tableMs(name, rank), 0);
    assert.ok(Math.abs(anchor.latencyMs.value - expected) < 1e-9);
    // uniform and energy come as close to the first point's MACs as their one setting allows
    const uniform = result.baselines[0]!;
    assert.ok(Math.abs(uniform.macs - anchor.macs) / anchor.macs < 0.35, `uniform ${uniform.macs} vs ${anchor.macs} MACs`);
  });

  it('labels the delta estimated when the test images may overlap the training images', async () => {
    const s = await settings(path.join(dir, 'overlap'), { searchEpochs: 1, finetuneEpochs: 0.5 });
    const result = await halocSearch({ ...s, test: { ...s.test, heldOut: false } });
    assert.equal(result.front[0]!.accuracyDelta.kind, 'estimated');
    assert.match(result.notes.join('\n'), /estimated/);
  });

  it('resumes a cancelled run without searching again and ends where an uninterrupted run ends', async () => {
    const plain = await halocSearch(await settings(path.join(dir, 'plain')));
    const workDir = path.join(dir, 'resumed');
    let finetuneSteps = 0;
    const cancel = { cancelled: false, throwIfCancelled(): void { if (this.cancelled) throw new HalocError('CANCELLED', 'cancelled'); } };
    const onProgress = (p: HalocProgress): void => {
      if (p.phase === 'finetune' && ++finetuneSteps >= 5) cancel.cancelled = true;
    };
    await assert.rejects(halocSearch(await settings(workDir, { cancel, progress: onProgress })), (e: unknown) => e instanceof HalocError && e.code === 'CANCELLED');
    assert.ok(fs.existsSync(path.join(workDir, 'haloc-1.searched.onnx')), 'the searched model is kept');
    assert.ok(fs.existsSync(path.join(workDir, 'haloc-1.onnx.ckpt')), 'the fine-tuning checkpoint is kept');
    assert.ok(!fs.existsSync(path.join(workDir, 'haloc-1.onnx')), 'no final model yet');
    const seen: HalocProgress[] = [];
    const resumed = await halocSearch(await settings(workDir, { resume: true, progress: (p) => seen.push(p) }));
    assert.ok(!seen.some((p) => p.phase === 'search'), 'the search is not run again');
    assert.ok(seen.find((p) => p.phase === 'finetune')!.step > 1, 'the fine-tuning continues from its checkpoint');
    assert.deepEqual(resumed.front[0]!.ranks, plain.front[0]!.ranks);
    assert.equal(resumed.front[0]!.top1, plain.front[0]!.top1);
    assert.deepEqual(fs.readFileSync(resumed.front[0]!.onnx), fs.readFileSync(plain.front[0]!.onnx));
  });

  it('reuses a finished point on --resume, and fine-tunes again when the fine-tuning settings differ', async () => {
    const workDir = path.join(dir, 'plain');
    const first = JSON.parse(fs.readFileSync(path.join(workDir, 'haloc-1.onnx.json'), 'utf8')) as { point: unknown };
    const phases = new Set<string>();
    const again = await halocSearch(await settings(workDir, { resume: true, progress: (p) => phases.add(p.phase) }));
    assert.ok(!phases.has('search') && !phases.has('finetune'), [...phases].join(','));
    assert.deepEqual(again.front[0], first.point);
    const longer = new Set<string>();
    await halocSearch(await settings(workDir, { resume: true, finetuneEpochs: 1, progress: (p) => longer.add(p.phase) }));
    assert.ok(!longer.has('search') && longer.has('finetune'));
  });

  it('does not reuse a searched model made with other settings', async () => {
    const workDir = path.join(dir, 'resumed');
    const seen = new Set<string>();
    await halocSearch(await settings(workDir, { resume: true, seed: 9, finetuneEpochs: 0.5, progress: (p) => seen.add(p.phase) }));
    assert.ok(seen.has('search'));
  });

  it('finds the setting of a baseline family closest to a MACs target', async () => {
    const c = await knownAnswerCase();
    const layers = await prepareSearchLayers(c.model, c.analysis, c.latency.table, c.latency.layerKeys);
    const target = pointSize(c.model, c.analysis, layers, uniformRanks(layers, 0.5)).macs;
    assert.deepEqual(matchMacs((f) => uniformRanks(layers, f), c.model, c.analysis, layers, target), uniformRanks(layers, 0.5));
  });
});

/** The synthetic table of searchSupport: conv ranks 2..8 cost 0.1 + rank / 10 ms, fc 0.06 / 0.08. */
function tableMs(layer: string, rank: number | 'keep'): number {
  if (layer === 'fc') return rank === 'keep' ? 0.1 : rank === 2 ? 0.06 : 0.08;
  return rank === 'keep' ? 1 : 0.1 + rank / 10;
}
