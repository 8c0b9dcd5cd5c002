// The HALOC supernet search on a small CNN with known answers: branches only at ranks cheaper than the
// layer; with no cost term, the branch that reproduces a layer best wins; with a heavy cost term every layer takes its cheapest branch; the
// chosen branch's trained factors rebuild a model that runs; cancellation stops it.
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { HalocError } from '../../../engine/errors';
import { loadDataset } from '../../../engine/data/loadDataset';
import { layerBasis } from '../../../engine/factorize/layerBasis';
import { rewriteModel } from '../../../engine/factorize/rewriteModel';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import type { OnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { seededNormal } from '../../../engine/random';
import type { SearchLayer } from '../../../engine/search/searchLayers';
import { branchRanks, supernetSearch, worthwhileRanks, type SupernetSearchSettings } from '../../../engine/search/supernetSearch';
import { modelOf } from '../testSupport';

/** x [N, 3, 8, 8] -> Conv 3->8 -> Relu -> Conv 8->8 (c2) -> Relu -> Conv 8->8 (c3) -> Relu -> GAP -> Gemm 8->4. */
function cnn(): OnnxModel {
  const b = new GraphBuilder({ opset: 13 });
  b.input('x', ['N', 3, 8, 8]);
  const w = (name: string, dims: number[], scale: number, seed: number): string => b.initializer(float32Tensor(name, dims, seededNormal(dims.reduce((p, d) => p * d, 1), seed).map((v) => v * scale)));
  w('c1.w', [8, 3, 3, 3], 0.3, 1);
  w('c2.w', [8, 8, 3, 3], 0.15, 2);
  w('c3.w', [8, 8, 3, 3], 0.15, 3);
  w('fc.w', [4, 8], 0.5, 4);
  let [h] = b.node('Conv', ['x', 'c1.w'], { pads: [1, 1, 1, 1] }, { name: 'c1' });
  [h] = b.node('Relu', [h!]);
  [h] = b.node('Conv', [h!, 'c2.w'], { pads: [1, 1, 1, 1] }, { name: 'c2' });
  [h] = b.node('Relu', [h!]);
  [h] = b.node('Conv', [h!, 'c3.w'], { pads: [1, 1, 1, 1] }, { name: 'c3' });
  [h] = b.node('Relu', [h!]);
  [h] = b.node('GlobalAveragePool', [h!]);
  [h] = b.node('Flatten', [h!]);
  b.node('Gemm', [h!, 'fc.w'], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', ['N', 4]);
  return modelOf(b);
}

async function searchLayers(model: OnnxModel): Promise<SearchLayer[]> {
  const analysis = await analyzeModel(model, { batch: 16 });
  const layers = analysis.layers.filter((l) => l.name === 'c2' || l.name === 'c3');
  return Promise.all(layers.map(async (layer) => ({
    layer,
    basis: await layerBasis(model, layer),
    entry: { op: 'Conv', originalMs: 1, granularity: 1, ranks: [1, 2, 4, 8].map((rank) => ({ rank, ms: rank / 10 })) },
    candidates: [1, 2, 4, 8],
  })));
}

describe('search: the HALOC supernet search', function () {
  this.timeout(120000);
  const data = loadDataset({ synthetic: { count: 192, height: 8, width: 8, channels: 3, classes: 4, seed: 11, noise: 24 } }, { mean: [0.5], std: [0.25] }).dataset;
  const settings = async (over: Partial<SupernetSearchSettings>): Promise<SupernetSearchSettings> => {
    const model = cnn();
    return {
      model, layers: await searchLayers(model), untouchedCost: 0, cost: 'macs', data,
      weightIndices: Int32Array.from({ length: 128 }, (_, i) => i), archIndices: Int32Array.from({ length: 64 }, (_, i) => 128 + i),
      costWeight: 0, epochs: 6, batchSize: 16, seed: 1, archLearningRate: 0.05, ...over,
    };
  };

  it('spreads the branch ranks over the worthwhile candidates', () => {
    assert.deepEqual(branchRanks([1, 2, 4, 8], 4), [1, 2, 4, 8]);
    assert.deepEqual(branchRanks([4, 8, 12, 16, 20, 24, 28, 32], 3), [4, 20, 32]);
    // a latency step: 12 costs what 16 costs, 20 more than the layer; 4 is dearer than 8
    const ms: Record<number, number> = { 4: 0.5, 8: 0.4, 12: 0.6, 16: 0.6, 20: 1.2 };
    assert.deepEqual(worthwhileRanks([4, 8, 12, 16, 20], (r) => ms[r]!, 1), [8, 16]);
    assert.deepEqual(worthwhileRanks([4, 8], () => 2, 1), []);
  });

  it('leaves a layer with no worthwhile rank as it is, and can keep a searched layer', async () => {
    const s = await settings({ cost: 'latency', costWeight: 0, epochs: 1 });
    const [c2, c3] = s.layers;
    const slow = { ...c3!, entry: { ...c3!.entry, ranks: c3!.entry.ranks.map((r) => ({ ...r, ms: 2 })) } };
    const result = await supernetSearch({ ...s, layers: [c2!, slow] });
    assert.equal(result.ranks.get('c3'), 'keep');
    assert.ok(!result.options.has('c3') && !result.factors.has('c3'));
    const rank = result.ranks.get('c2');
    assert.equal(result.factors.has('c2'), rank !== 'keep');
  });

  it('without a cost term prefers the branch that reproduces the teacher; with a heavy one the cheapest', async () => {
    // pure distillation (no labels) with the branch weights held (a negligible learning rate): only the
    // full-rank branch reproduces the teacher, the original model
    const unlabelled = (({ labels: _labels, ...rest }) => rest)(data);
    // (by the latency table every rank is faster than the layer, so rank 8 is a branch)
    const free = await supernetSearch(await settings({ data: unlabelled, cost: 'latency', costWeight: 0, weightLearningRate: 1e-9, temperature: 1 }));
    // (rank 8 is the full Tucker-2 rank: it reproduces the layer as exactly as keeping it)
    for (const [name, alpha] of free.alpha) assert.ok(alpha.indexOf(Math.max(...alpha)) >= 3, `${name}: alpha ${[...alpha].map((a) => a.toFixed(2))} should favour rank 8 or keep`);
    for (const [name, options] of free.options) assert.deepEqual(options, [1, 2, 4, 8, 'keep'], name);
    const cheap = await supernetSearch(await settings({ costWeight: 50 }));
    // by MACs, Tucker-2 rank 8 of an 8-channel conv costs more than the conv: no branch
    for (const [name, options] of cheap.options) assert.deepEqual(options, [1, 2, 4, 'keep'], `${name}: branches below the layer's own cost`);
    for (const [name, rank] of cheap.ranks) assert.equal(rank, 1, `${name} should take rank 1 under a heavy MACs weight`);
  });

  it('projects an argmax above the budget onto the most probable setting within it', async () => {
    const s = await settings({ cost: 'latency', costWeight: 0, epochs: 1 });
    const free = await supernetSearch(s);
    assert.equal(free.projected, false);
    const bounded = await supernetSearch({ ...s, budget: 0.5 });
    assert.ok(free.cost > 0.5, `without a cost term the argmax costs ${free.cost} ms`);
    assert.equal(bounded.projected, true);
    assert.ok(bounded.cost <= 0.5 + 1e-12, `projected: ${bounded.cost} ms`);
  });

  it('rebuilds a runnable model from the chosen branches\' trained factors', async () => {
    const s = await settings({ costWeight: 2, epochs: 2 });
    const result = await supernetSearch(s);
    const rewrites = s.layers.map((l) => ({ layer: l.layer, factors: result.factors.get(l.layer.name)! }));
    const session = await ort.InferenceSession.create(encodeOnnx(rewriteModel(s.model, rewrites)));
    const out = await session.run({ x: new ort.Tensor('float32', data.images.subarray(0, 2 * 192), [2, 3, 8, 8]) });
    await session.release();
    assert.ok([...(out.logits!.data as Float32Array)].every(Number.isFinite));
  });

  it('stops with CANCELLED when cancelled', async () => {
    let steps = 0;
    const cancel = { cancelled: false, throwIfCancelled(): void { if (this.cancelled) throw new HalocError('CANCELLED', 'cancelled'); } };
    await assert.rejects(supernetSearch(await settings({ cancel, onProgress: () => (cancel.cancelled = ++steps >= 2) })), (e: unknown) => e instanceof HalocError && e.code === 'CANCELLED');
    assert.equal(steps, 2);
  });
});
