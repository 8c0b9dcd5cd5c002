// The benchmark models of a layer: a convolution is fed by the producer (a 1x1 convolution with
// identity weights, named with producerPrefix so that timeKernels leaves it out), in the original
// and in every rewrite at a rank, and the producer does not change what the layer computes; a Gemm
// gets no producer. benchValues: seeded, uniform in [-scale, scale). No timing.
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { layerBenchModels } from '../../../engine/hardware/layerBenchModels';
import { benchValues, producerPrefix, randomFeeds } from '../../../engine/hardware/timeSession';
import { decodeOnnxModel } from '../../../engine/onnx/onnxModel';
import { onnx } from '../../../engine/onnx/proto';
import { layerNamed } from '../testSupport';
import { analyzed, twinConvModel, type Analyzed } from './hardwareSupport';

async function run(bytes: Uint8Array, x: ort.Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return (await session.run({ x })).y?.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('layerBenchModels', function () {
  this.timeout(30_000);
  let twin: Analyzed;

  before(async function () {
    twin = await analyzed(twinConvModel(), 2);
  });

  it('a convolution is fed by the producer: a 1x1 conv with identity weights, then the layer and its fused activation', function () {
    const bench = layerBenchModels(twin.model, layerNamed(twin.analysis, 'conv1'));
    const graph = decodeOnnxModel(bench.original, 'layer.onnx').graph;
    assert.deepEqual((graph.node ?? []).map((n) => n.opType), ['Conv', 'Conv', 'Relu']);
    const [producer, layer] = graph.node ?? [];
    assert.ok(producer?.name?.startsWith(producerPrefix) && producer.output?.[0]?.startsWith(producerPrefix), `producer named ${producer?.name} -> ${producer?.output?.[0]}`);
    assert.deepEqual(producer?.input?.[0], 'x');
    assert.equal(layer?.input?.[0], producer?.output?.[0], 'the layer reads the producer\'s output');
    const weight = (graph.initializer ?? []).find((t) => t.name === producer?.input?.[1]);
    assert.deepEqual(weight?.dims?.map(Number), [8, 8, 1, 1]);
    const values = new Float32Array(new Uint8Array(weight?.rawData ?? []).slice().buffer);
    assert.deepEqual([...values], Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 1 : 0)), 'identity weights');
    assert.deepEqual(bench.inputs, [{ name: 'x', dims: [2, 8, 8, 8] }]);
  });

  it('the producer passes its input through unchanged: the same output as the layer fed directly', async function () {
    const bench = layerBenchModels(twin.model, layerNamed(twin.analysis, 'conv1'));
    const model = decodeOnnxModel(bench.original, 'layer.onnx');
    const graph = model.graph;
    const [producer, ...rest] = graph.node ?? [];
    const direct = { ...model.proto, graph: { ...graph, node: rest.map((n, i) => (i === 0 ? { ...n, input: ['x', ...(n.input ?? []).slice(1)] } : n)), initializer: (graph.initializer ?? []).filter((t) => t.name !== producer?.input?.[1]) } };
    const x = randomFeeds(bench.inputs).x as ort.Tensor;
    const fed = await run(bench.original, x);
    const plain = await run(onnx.ModelProto.encode(direct).finish(), x);
    assert.equal(fed.length, 2 * 8 * 8 * 8);
    fed.forEach((v, i) => assert.ok(Math.abs(v - (plain[i] ?? NaN)) < 1e-5, `output ${i}: ${v} vs ${plain[i]}`));
  });

  it('every rewrite keeps the producer in front and replaces the layer behind it', async function () {
    const bench = layerBenchModels(twin.model, layerNamed(twin.analysis, 'conv1'));
    const graph = decodeOnnxModel(bench.atRank(4), 'layer.onnx').graph;
    assert.deepEqual((graph.node ?? []).map((n) => n.opType), ['Conv', 'Conv', 'Conv', 'Conv', 'Relu'], 'producer, Tucker-2 in / core / out, activation');
    assert.ok(graph.node?.[0]?.name?.startsWith(producerPrefix));
    assert.equal(graph.node?.[1]?.input?.[0], graph.node?.[0]?.output?.[0]);
    assert.ok(!(graph.node ?? []).slice(1).some((n) => n.name?.startsWith(producerPrefix)));
    const y = await run(bench.atRank(4), randomFeeds(bench.inputs).x as ort.Tensor);
    assert.equal(y.length, 2 * 8 * 8 * 8);
  });

  it('a Gemm layer has no producer', function () {
    const bench = layerBenchModels(twin.model, layerNamed(twin.analysis, 'fc'));
    const graph = decodeOnnxModel(bench.original, 'layer.onnx').graph;
    assert.deepEqual((graph.node ?? []).map((n) => n.opType), ['Gemm']);
    assert.equal(graph.node?.[0]?.input?.[0], 'x');
    assert.deepEqual((decodeOnnxModel(bench.atRank(4), 'layer.onnx').graph.node ?? []).map((n) => n.opType), ['Gemm', 'Gemm']);
  });
});

describe('benchValues', function () {
  it('the same values for the same seed, others for another; uniform in [-scale, scale)', function () {
    const a = benchValues(10_000, 1);
    assert.deepEqual(benchValues(10_000, 1), a);
    assert.notDeepEqual(benchValues(10_000, 2), a);
    assert.ok(a.every((v) => v >= -1 && v < 1));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
    assert.ok(a.filter((v) => v > 0.5).length > 2000 && a.filter((v) => v < -0.5).length > 2000, 'spread over the range');
    const scaled = benchValues(1000, 3, 0.05);
    assert.ok(scaled.every((v) => Math.abs(v) <= 0.05) && scaled.some((v) => Math.abs(v) > 0.04));
    assert.equal(benchValues(0, 1).length, 0);
  });
});

