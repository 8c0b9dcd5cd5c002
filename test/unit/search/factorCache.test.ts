// The search's factor cache: the same factors object while they are within the byte budget, the least
// recently used evicted past it (recomputed on the next request, with equal values); factors larger than
// the whole budget are never kept.
import * as assert from 'node:assert/strict';
import { layerBasis } from '../../../engine/factorize/layerBasis';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { FactorCache, type SearchLayer } from '../../../engine/search/searchLayers';
import { modelOf, randomFloats } from '../testSupport';

async function gemmLayer(): Promise<SearchLayer> {
  const b = new GraphBuilder({ name: 'fc' });
  b.input('x', [2, 64]);
  b.initializer(float32Tensor('w', [64, 48], randomFloats(64 * 48, 3)));
  b.node('MatMul', ['x', 'w'], {}, { name: 'fc', outputs: ['y'] });
  b.output('y', [2, 48]);
  const model = modelOf(b);
  const layer = (await analyzeModel(model)).layers.find((l) => l.name === 'fc' && l.compressible);
  assert.ok(layer);
  return { layer, basis: await layerBasis(model, layer), entry: { op: 'MatMul', originalMs: 1, ranks: [], granularity: 1 }, candidates: [] };
}

describe('search: factor cache', function () {
  it('returns the cached factors within its budget and evicts the least recently used past it', async function () {
    const layer = await gemmLayer();
    const rankBytes = (r: number): number => 4 * r * (64 + 48);
    const roomy = new FactorCache(10 * 2 ** 20);
    assert.equal(roomy.get(layer, 8), roomy.get(layer, 8), 'a second request is served from the cache');
    // room for ranks 8 and 16 together, not 8, 16 and 24
    const tight = new FactorCache(rankBytes(8) + rankBytes(16));
    const r8 = tight.get(layer, 8);
    const r16 = tight.get(layer, 16);
    assert.equal(tight.get(layer, 8), r8, 'both fit');
    tight.get(layer, 24); // evicts 16 (8 was used more recently), then 8 (still over)
    assert.notEqual(tight.get(layer, 16), r16, 'evicted, recomputed');
    const [again, before] = await Promise.all([tight.get(layer, 8), r8]);
    assert.notEqual(tight.get(layer, 8), r8);
    assert.ok(again.kind === 'svd' && before.kind === 'svd');
    assert.deepEqual(again.leftIR, before.leftIR, 'recomputed factors equal the first ones');
    // factors larger than the whole budget are not kept at all (VGG-16's fc6 near full rank: 0.4 GB)
    const small = new FactorCache(rankBytes(8) - 1);
    assert.notEqual(small.get(layer, 8), small.get(layer, 8), 'not cached');
    assert.equal(small.get(layer, 4), small.get(layer, 4), 'a smaller rank is');
  });
});
