// HALOC's supernet (supernetModel): with one-hot mixing weights it computes exactly the model
// compressed at that branch's rank; its feature-map term is zero for an exact branch and positive for
// a truncated one; and the training step returns gradients for the mixing weights and the branches
// that agree with central differences of the total loss (cross-entropy + weighted feature-map term).
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { layerBasis, factorsAtRank } from '../../../engine/factorize/layerBasis';
import type { LayerFactors } from '../../../engine/factorize/layerFactors';
import { rewriteModel, supernetModel } from '../../../engine/factorize/rewriteModel';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import type { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { createOrtBackend } from '../../../engine/train/ortBackend';
import { modelOf, randomFloats } from '../testSupport';

/** x [N, 3, 6, 6] -> Conv 3->8 3x3 -> Relu -> Conv 8->8 3x3 -> Relu -> GlobalAveragePool -> Flatten -> Gemm 8->4. */
function smallNet(): OnnxModel {
  const b = new GraphBuilder({ opset: 13 });
  b.input('x', ['N', 3, 6, 6]);
  b.initializer(float32Tensor('c1.w', [8, 3, 3, 3], randomFloats(216, 1).map((v) => v * 0.4)));
  b.initializer(float32Tensor('c1.b', [8], randomFloats(8, 2).map((v) => v * 0.1)));
  b.initializer(float32Tensor('c2.w', [8, 8, 3, 3], randomFloats(576, 3).map((v) => v * 0.25)));
  b.initializer(float32Tensor('fc.w', [4, 8], randomFloats(32, 4)));
  const [h1] = b.node('Conv', ['x', 'c1.w', 'c1.b'], { pads: [1, 1, 1, 1] }, { name: 'c1' });
  const [r1] = b.node('Relu', [h1!]);
  const [h2] = b.node('Conv', [r1!, 'c2.w'], { pads: [1, 1, 1, 1] }, { name: 'c2' });
  const [r2] = b.node('Relu', [h2!]);
  const [p] = b.node('GlobalAveragePool', [r2!]);
  const [f] = b.node('Flatten', [p!]);
  b.node('Gemm', [f!, 'fc.w'], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', ['N', 4]);
  return modelOf(b);
}

const RANKS = [2, 4, 8];

async function supernetOf(model: OnnxModel): Promise<{ net: OnnxModel; layers: ReturnType<typeof supernetModel>['layers']; branches: Map<string, LayerFactors[]> }> {
  const analysis = await analyzeModel(model, { batch: 2 });
  const layer = analysis.layers.find((l) => l.name === 'c2')!;
  assert.ok(layer.compressible, 'c2 is factorizable');
  const basis = await layerBasis(model, layer);
  const branches = await Promise.all(RANKS.map((r) => factorsAtRank(basis, r)));
  const { proto, layers } = supernetModel(model, [{ layer, branches }]);
  return { net: decodeOnnxModel(encodeOnnx(proto), model.filePath), layers, branches: new Map([['c2', branches]]) };
}

async function run(proto: onnx.IModelProto, feeds: Record<string, ort.Tensor>, outputs: readonly string[]): Promise<Record<string, Float32Array>> {
  const bytes = encodeOnnx({ ...proto, graph: { ...proto.graph, output: [...(proto.graph?.output ?? []), ...outputs.filter((o) => o !== 'logits').map((name) => ({ name }))] } });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(outputs.map((o) => [o, out[o]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

describe('factorize: the HALOC supernet', function () {
  this.timeout(60000);
  const images = randomFloats(2 * 3 * 36, 9);
  const feeds = (): Record<string, ort.Tensor> => ({ x: new ort.Tensor('float32', images, [2, 3, 6, 6]) });

  it('with one-hot mixing equals the model compressed at that rank; the feature-map term is 0 only for the exact branch', async () => {
    const model = smallNet();
    const { net, layers, branches } = await supernetOf(model);
    const [{ mixing, featureLoss }] = layers as [typeof layers[0]];
    const layer = (await analyzeModel(model, { batch: 2 })).layers.find((l) => l.name === 'c2')!;
    for (let k = 0; k < RANKS.length; k++) {
      const oneHot = new Float32Array(RANKS.length);
      oneHot[k] = 1;
      const proto = { ...net.proto, graph: { ...net.graph, initializer: (net.graph.initializer ?? []).map((t) => (t.name === mixing ? float32Tensor(mixing, [RANKS.length], oneHot) : t)) } };
      const ours = await run(proto, feeds(), ['logits']);
      const compressed = await run(rewriteModel(model, [{ layer, factors: branches.get('c2')![k]! }]), feeds(), ['logits']);
      ours.logits!.forEach((v, i) => assert.ok(Math.abs(v - compressed.logits![i]!) <= 1e-5 * (1 + Math.abs(v)), `rank ${RANKS[k]}: logit ${i} ${v} vs ${compressed.logits![i]}`));
    }
    const { [featureLoss]: loss } = await run(net.proto, feeds(), [featureLoss]);
    assert.ok(loss![0]! > 1e-4, `the truncated branches differ from the original (${loss![0]})`);
    // a supernet whose only branch is full rank reproduces the original: the term vanishes
    const full = supernetModel(model, [{ layer, branches: [branches.get('c2')![2]!] }]);
    const { [full.layers[0]!.featureLoss]: zero } = await run(full.proto, feeds(), [full.layers[0]!.featureLoss]);
    assert.ok(zero![0]! < 1e-10, `full rank: ${zero![0]}`);
  });

  it('with keep: the last mixing weight selects the original layer, which adds nothing to the feature-map term', async () => {
    const model = smallNet();
    const layer = (await analyzeModel(model, { batch: 2 })).layers.find((l) => l.name === 'c2')!;
    const branches = [await factorsAtRank(await layerBasis(model, layer), 2)];
    const { proto, layers } = supernetModel(model, [{ layer, branches, keep: true }]);
    const [{ mixing, keepIndex, featureLoss }] = layers as [typeof layers[0]];
    assert.equal(keepIndex, 1);
    const keepOnly = { ...proto, graph: { ...proto.graph, initializer: (proto.graph?.initializer ?? []).map((t) => (t.name === mixing ? float32Tensor(mixing, [2], Float32Array.of(0, 1)) : t)) } };
    const ours = await run(keepOnly, feeds(), ['logits', featureLoss]);
    const original = await run(model.proto, feeds(), ['logits']);
    ours.logits!.forEach((v, i) => assert.ok(Math.abs(v - original.logits![i]!) <= 1e-6 * (1 + Math.abs(v)), `logit ${i}: ${v} vs ${original.logits![i]}`));
    const plain = supernetModel(model, [{ layer, branches }]);
    const { [plain.layers[0]!.featureLoss]: branchOnly } = await run(plain.proto, feeds(), [plain.layers[0]!.featureLoss]);
    assert.ok(Math.abs(ours[featureLoss]![0]! - branchOnly![0]!) <= 1e-6 * branchOnly![0]!, 'the term averages the low-rank branches only');
  });

  it('gives gradients of the mixing weights and branch factors that match central differences of loss + mu * feature term', async () => {
    const model = smallNet();
    const { net, layers } = await supernetOf(model);
    const [{ mixing, featureLoss }] = layers as [typeof layers[0]];
    const mu = 3;
    const trainable = new Set([mixing, ...(net.graph.initializer ?? []).map((t) => t.name ?? '').filter((n) => n.includes('tucker'))]);
    const backend = await createOrtBackend(net, { batch: 2, trainable, batchNorm: 'running-statistics', auxiliaryLosses: new Map([[featureLoss, mu]]) }, { threads: 1 });
    try {
      assert.deepEqual(new Set(backend.parameters), trainable);
      const hard = new Float32Array(8);
      hard[1] = 1;
      hard[6] = 1;
      const params = new Map([...trainable].map((n) => [n, net.constants.get(n)!.toFloat32()]));
      params.set(mixing, Float32Array.of(0.2, 0.5, 0.3));
      const lossAt = async (p: Map<string, Float32Array>): Promise<{ total: number; out: Awaited<ReturnType<typeof backend.step>> }> => {
        const out = await backend.step({ images, hardTargets: hard, softTargets: new Float32Array(8), distillWeight: 0, temperature: 1, params: p, running: new Map() });
        return { total: out.crossEntropy + mu * out.auxiliary.get(featureLoss)!, out };
      };
      const { out } = await lossAt(params);
      assert.ok(out.auxiliary.get(featureLoss)! > 0);
      for (const name of [mixing, [...trainable].find((n) => n.includes('tucker_core'))!]) {
        const grad = out.grads.get(name)!;
        for (const i of [0, 1, 2]) {
          const h = 1e-2;
          const shifted = (sign: number): Map<string, Float32Array> => {
            const copy = Float32Array.from(params.get(name)!);
            copy[i]! += sign * h;
            return new Map([...params, [name, copy]]);
          };
          const numeric = ((await lossAt(shifted(1))).total - (await lossAt(shifted(-1))).total) / (2 * h);
          assert.ok(Math.abs(numeric - grad[i]!) <= 2e-2 * Math.max(Math.abs(numeric), Math.abs(grad[i]!)) + 1e-3, `${name}[${i}]: finite difference ${numeric} vs gradient ${grad[i]}`);
        }
      }
    } finally {
      await backend.dispose();
    }
  });
});
