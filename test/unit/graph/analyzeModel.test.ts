// Per-layer analysis: the shared models against hand-computed shapes, MACs and parameters; small
// built models for grouped / depthwise convs, Gemm transA/transB, batched MatMul, the onnxruntime
// fallback, symbolic dims, --batch, and damaged graphs (cycle, missing tensor).
import * as assert from 'node:assert/strict';
import { analyzeModel, type ModelAnalysis } from '../../../engine/graph/analyzeModel';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel, readOnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { analyzeBuilt, expectHalocError, layerNamed, modelOf, randomFloats, sharedModel, sharedModelFiles, skipSuiteWithoutSharedModels } from '../testSupport';
import { handTotals, resnet20Facts, sharedModelFacts, type ModelFact } from './sharedModelFacts';

function checkAgainstFacts(analysis: ModelAnalysis, facts: ModelFact, what: string): void {
  assert.equal(analysis.layers.length, facts.layers.size, `${what}: layers ${analysis.layers.map((l) => l.name).join(', ')}`);
  for (const layer of analysis.layers) {
    const key = facts.layers.has(layer.name) ? layer.name : layer.op;
    const fact = facts.layers.get(key);
    assert.ok(fact, `${what}: unexpected layer ${layer.name} (${layer.op})`);
    const where = `${what} ${layer.name}`;
    assert.equal(layer.op, fact.op, `${where}: op`);
    assert.deepEqual(layer.inputShape, fact.inputShape, `${where}: input shape`);
    assert.deepEqual(layer.outputShape, fact.outputShape, `${where}: output shape`);
    assert.deepEqual(layer.weightShape, fact.weightShape, `${where}: weight shape`);
    assert.equal(layer.macs, fact.macs, `${where}: MACs`);
    assert.equal(layer.params, fact.params, `${where}: params`);
    assert.equal(layer.compressible, fact.compressible, `${where}: compressible (${layer.reason ?? ''})`);
    assert.equal(layer.shapeSource, 'static', `${where}: shape source`);
    assert.equal(layer.note, null, `${where}: note`);
  }
  assert.equal(analysis.totals.macs, facts.totalMacs, `${what}: total MACs`);
  assert.equal(analysis.totals.params, facts.totalParams, `${what}: total params`);
  assert.equal(analysis.totals.layersWithUnknownMacs, 0);
  assert.equal(analysis.model.shapeInference, 'static');
}

describe('analyzeModel: shared models against hand-computed values', function () {
  before(function () {
    skipSuiteWithoutSharedModels(this);
  });

  it('every shared model has hand-computed facts (add them when a model is added)', function () {
    assert.deepEqual(sharedModelFiles(), Object.keys(sharedModelFacts).sort());
  });

  it('the per-layer generator agrees with the literal totals', function () {
    for (const [file, facts] of Object.entries(sharedModelFacts)) {
      assert.equal(facts().totalMacs, handTotals[file]?.macs, `${file} MACs`);
      assert.equal(facts().totalParams, handTotals[file]?.params, `${file} params`);
    }
  });

  for (const [file, facts] of Object.entries(sharedModelFacts)) {
    it(`${file}: every layer's shapes, MACs, params; totals; params = float initializer elements`, async function () {
      const model = readOnnxModel(sharedModel(file));
      const analysis = await analyzeModel(model);
      const expected = facts();
      checkAgainstFacts(analysis, expected, file);
      const floatElements = (model.graph.initializer ?? [])
        .filter((t) => t.dataType === DataType.FLOAT)
        .reduce((sum, t) => sum + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1), 0);
      assert.equal(analysis.totals.params, floatElements, 'params = elements of the float initializers');
      assert.equal(analysis.model.inputs.length, 1);
      assert.equal(analysis.model.inputs[0]?.name, expected.inputName);
      assert.deepEqual(analysis.model.outputs[0]?.shape, expected.outputShape);
      assert.equal(analysis.model.batch, 1);
    });
  }

  it('ResNet-20 literal spot checks: conv1 442,368; a 16->16 conv 2,359,296; the stride-2 conv 1,179,648; Gemm 640', async function () {
    const analysis = await analyzeModel(readOnnxModel(sharedModel('resnet20-cifar10.onnx')));
    assert.equal(layerNamed(analysis, 'conv1').macs, 442_368);
    assert.equal(layerNamed(analysis, 'layer1.0.conv1').macs, 2_359_296);
    assert.equal(layerNamed(analysis, 'layer2.0.conv1').macs, 1_179_648);
    assert.deepEqual(layerNamed(analysis, 'layer2.0.conv1').outputShape, [1, 32, 16, 16]);
    assert.deepEqual(layerNamed(analysis, 'layer3.2.conv2').inputShape, [1, 64, 8, 8]);
    assert.equal(analysis.layers.find((l) => l.op === 'Gemm')?.macs, 640);
    assert.equal(analysis.totals.macs, 40_551_040);
    assert.equal(analysis.totals.params, 269_034);
    assert.equal(analysis.totals.compressibleLayers, 20);
    const conv = layerNamed(analysis, 'layer1.0.conv1');
    assert.equal(conv.decomposition, 'tucker2');
    assert.equal(conv.maxRank, 16);
    assert.equal(conv.breakEvenRank, 14); // 9 r^2 + 32 r < 2304
    assert.equal(conv.weightBytes, (16 * 16 * 9 + 16) * 4);
    assert.equal(conv.activationBytes, 16 * 32 * 32 * 4);
    const fc = analysis.layers.find((l) => l.op === 'Gemm');
    assert.equal(fc?.decomposition, 'svd');
    assert.equal(fc?.maxRank, 10);
  });

  it('ResNet-20 with --batch 4: every MAC count x 4, shapes start with 4, params unchanged', async function () {
    const analysis = await analyzeModel(readOnnxModel(sharedModel('resnet20-cifar10.onnx')), { batch: 4 });
    checkAgainstFacts(analysis, resnet20Facts(4), 'resnet20 batch 4');
    assert.equal(analysis.totals.macs, 4 * 40_551_040);
    assert.equal(analysis.totals.params, 269_034);
    assert.equal(analysis.model.batch, 4);
    assert.deepEqual(analysis.model.inputs[0]?.shape, [4, 3, 32, 32]);
  });

  it('ResNet-20 with --input-shape input=2,3,64,64: MACs x 2 x 4', async function () {
    const analysis = await analyzeModel(readOnnxModel(sharedModel('resnet20-cifar10.onnx')), { inputShapes: { input: [2, 3, 64, 64] } });
    assert.equal(layerNamed(analysis, 'conv1').macs, 2 * 64 * 64 * 16 * 27);
    const convMacs = analysis.layers.filter((l) => l.op === 'Conv').reduce((s, l) => s + (l.macs ?? 0), 0);
    assert.equal(convMacs, 8 * (40_551_040 - 640));
    assert.deepEqual(layerNamed(analysis, 'layer3.2.conv2').outputShape, [2, 64, 16, 16]);
  });

  it('mnist-8 literal spot checks: Convolution28 156,800, Convolution110 627,200, Times212 2,560', async function () {
    const analysis = await analyzeModel(readOnnxModel(sharedModel('mnist-8.onnx')));
    assert.equal(layerNamed(analysis, 'Convolution28').macs, 156_800);
    assert.equal(layerNamed(analysis, 'Convolution110').macs, 627_200);
    assert.equal(layerNamed(analysis, 'Times212').macs, 2_560);
    assert.deepEqual(analysis.model.inputs, [{ name: 'Input3', shape: [1, 1, 28, 28], elemType: 1 }]);
    assert.equal(analysis.totals.params, 5_994);
  });
});

describe('analyzeModel: grouped and depthwise convs', function () {
  async function groupedNet(): Promise<ModelAnalysis> {
    const builder = new GraphBuilder();
    builder.input('x', [1, 16, 12, 12]);
    builder.initializer(float32Tensor('dw', [16, 1, 3, 3], randomFloats(144, 1)));
    builder.initializer(float32Tensor('gw', [32, 4, 3, 3], randomFloats(32 * 36, 2)));
    builder.initializer(float32Tensor('mw', [32, 1, 5, 5], randomFloats(32 * 25, 3)));
    builder.initializer(float32Tensor('pw', [8, 32, 1, 1], randomFloats(256, 4)));
    builder.node('Conv', ['x', 'dw'], { group: 16, pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'depthwise', outputs: ['a'] });
    builder.node('Conv', ['a', 'gw'], { group: 4, pads: [1, 1, 1, 1] }, { name: 'grouped', outputs: ['b'] });
    builder.node('Conv', ['b', 'mw'], { group: 32, auto_pad: 'SAME_UPPER' }, { name: 'multiplier', outputs: ['c'] });
    builder.node('Conv', ['c', 'pw'], {}, { name: 'pointwise', outputs: ['y'] });
    builder.output('y');
    return analyzeBuilt(builder);
  }

  it('depthwise (group = C): MACs = out elements x 1 x 3 x 3, not compressible, reason says depthwise', async function () {
    const layer = layerNamed(await groupedNet(), 'depthwise');
    assert.deepEqual(layer.outputShape, [1, 16, 6, 6]); // (12 + 2 - 3) / 2 + 1 = 6
    assert.equal(layer.macs, 16 * 6 * 6 * 1 * 9);
    assert.equal(layer.params, 144);
    assert.equal(layer.compressible, false);
    assert.match(layer.reason ?? '', /depthwise/);
    assert.match(layer.reason ?? '', /group = 16/);
    assert.equal(layer.maxRank, null);
  });

  it('grouped (group = 4): MACs = out elements x Cin/group x 9, not compressible, reason says grouped', async function () {
    const layer = layerNamed(await groupedNet(), 'grouped');
    assert.deepEqual(layer.outputShape, [1, 32, 6, 6]);
    assert.equal(layer.macs, 32 * 6 * 6 * (16 / 4) * 9);
    assert.equal(layer.params, 32 * 4 * 9);
    assert.equal(layer.compressible, false);
    assert.match(layer.reason ?? '', /grouped conv \(group = 4\)/);
  });

  it('depthwise with a channel multiplier (32 in, group 32, 32 out of 5x5 SAME): depthwise reason', async function () {
    const layer = layerNamed(await groupedNet(), 'multiplier');
    assert.deepEqual(layer.outputShape, [1, 32, 6, 6]);
    assert.equal(layer.macs, 32 * 36 * 25);
    assert.match(layer.reason ?? '', /depthwise/);
  });

  it('the 1x1 pointwise conv after them is compressible by SVD', async function () {
    const analysis = await groupedNet();
    const layer = layerNamed(analysis, 'pointwise');
    assert.equal(layer.macs, 8 * 36 * 32);
    assert.equal(layer.compressible, true);
    assert.equal(layer.decomposition, 'svd');
    assert.equal(layer.maxRank, 8);
    assert.equal(analysis.totals.compressibleLayers, 1);
    assert.equal(analysis.totals.macs, 16 * 36 * 9 + 32 * 36 * 36 + 32 * 36 * 25 + 8 * 36 * 32);
  });
});

describe('analyzeModel: Gemm and MatMul', function () {
  it('Gemm with transA and transB: M x K x N = 3 x 5 x 7, SVD 5 -> 7 over 3 rows', async function () {
    const builder = new GraphBuilder();
    builder.input('a', [5, 3]);
    builder.initializer(float32Tensor('b', [7, 5], randomFloats(35)));
    builder.initializer(float32Tensor('c', [7], randomFloats(7)));
    builder.node('Gemm', ['a', 'b', 'c'], { transA: 1, transB: 1 }, { name: 'gemm', outputs: ['y'] });
    builder.output('y');
    const layer = layerNamed(await analyzeBuilt(builder), 'gemm');
    assert.deepEqual(layer.outputShape, [3, 7]);
    assert.deepEqual(layer.weightShape, [7, 5]);
    assert.equal(layer.macs, 105);
    assert.equal(layer.params, 42);
    assert.deepEqual(layer.lowRankShape, { kind: 'svd', rows: 3, inFeatures: 5, outFeatures: 7 });
    assert.equal(layer.breakEvenRank, 2);
  });

  it('Gemm without transposes: B [5, 7]', async function () {
    const builder = new GraphBuilder();
    builder.input('a', [3, 5]);
    builder.initializer(float32Tensor('b', [5, 7], randomFloats(35)));
    builder.node('Gemm', ['a', 'b'], {}, { name: 'gemm', outputs: ['y'] });
    builder.output('y');
    const layer = layerNamed(await analyzeBuilt(builder), 'gemm');
    assert.equal(layer.macs, 105);
    assert.deepEqual(layer.lowRankShape, { kind: 'svd', rows: 3, inFeatures: 5, outFeatures: 7 });
  });

  it('batched MatMul [2, 3, 4, 5] x [5, 6]: 2 x 3 x 4 x 5 x 6 = 720 MACs, 24 rows', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [2, 3, 4, 5]);
    builder.initializer(float32Tensor('w', [5, 6], randomFloats(30)));
    builder.node('MatMul', ['x', 'w'], {}, { name: 'mm', outputs: ['y'] });
    builder.output('y');
    const layer = layerNamed(await analyzeBuilt(builder), 'mm');
    assert.deepEqual(layer.outputShape, [2, 3, 4, 6]);
    assert.equal(layer.macs, 720);
    assert.deepEqual(layer.lowRankShape, { kind: 'svd', rows: 24, inFeatures: 5, outFeatures: 6 });
  });

  it('MatMul of two activations (attention-like [2, 4, 8] x [2, 8, 4]): MACs counted, dynamic weight reason', async function () {
    const builder = new GraphBuilder();
    builder.input('q', [2, 4, 8]);
    builder.input('k', [2, 8, 4]);
    builder.node('MatMul', ['q', 'k'], {}, { name: 'scores', outputs: ['y'] });
    builder.output('y');
    const layer = layerNamed(await analyzeBuilt(builder), 'scores');
    assert.equal(layer.macs, 2 * 4 * 8 * 4);
    assert.equal(layer.params, 0);
    assert.equal(layer.compressible, false);
    assert.match(layer.reason ?? '', /dynamic weight/);
  });

  it('a conv whose weight is a graph input: dynamic weight reason', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 3, 8, 8]);
    builder.input('w', [4, 3, 3, 3]);
    builder.node('Conv', ['x', 'w'], {}, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    const layer = layerNamed(await analyzeBuilt(builder), 'conv');
    assert.equal(layer.macs, 4 * 6 * 6 * 27);
    assert.match(layer.reason ?? '', /dynamic weight/);
  });
});

describe('analyzeModel: the onnxruntime fallback', function () {
  function withUnknownOp(): GraphBuilder {
    // x [1, 8, 4, 4] -> DepthToSpace(2) (no static rule) -> [1, 2, 8, 8] -> Conv 2 -> 4, 3x3 pad 1.
    const builder = new GraphBuilder();
    builder.input('x', [1, 8, 4, 4]);
    builder.initializer(float32Tensor('w', [4, 2, 3, 3], randomFloats(72)));
    builder.node('DepthToSpace', ['x'], { blocksize: 2 }, { name: 'd2s', outputs: ['d'] });
    builder.node('Conv', ['d', 'w'], { pads: [1, 1, 1, 1] }, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    return builder;
  }

  it("DepthToSpace has no static rule: shapes come from onnxruntime, shapeInference 'static+runtime', a note says so", async function () {
    const analysis = await analyzeBuilt(withUnknownOp());
    assert.equal(analysis.model.shapeInference, 'static+runtime');
    assert.ok(analysis.model.notes.some((n) => /onnxruntime/.test(n)), analysis.model.notes.join(' | '));
    const d2s = layerNamed(analysis, 'd2s');
    assert.equal(d2s.macs, null, 'an op without a rule has unknown MACs, never 0');
    assert.match(d2s.note ?? '', /DepthToSpace/);
    assert.deepEqual(d2s.outputShape, [1, 2, 8, 8]);
    assert.equal(d2s.shapeSource, 'runtime');
    const conv = layerNamed(analysis, 'conv');
    assert.deepEqual(conv.inputShape, [1, 2, 8, 8]);
    assert.deepEqual(conv.outputShape, [1, 4, 8, 8]);
    assert.equal(conv.macs, 4 * 8 * 8 * 2 * 9);
    assert.equal(conv.shapeSource, 'runtime');
    assert.equal(analysis.totals.macs, 4 * 8 * 8 * 2 * 9);
    assert.equal(analysis.totals.layersWithUnknownMacs, 1);
  });

  it('with the fallback off the shapes stay unresolved and MACs unknown (null), not 0', async function () {
    const analysis = await analyzeBuilt(withUnknownOp(), { runtimeFallback: false });
    assert.equal(analysis.model.shapeInference, 'static');
    const conv = layerNamed(analysis, 'conv');
    assert.equal(conv.macs, null);
    assert.equal(conv.shapeSource, 'unresolved');
    assert.ok(conv.note);
    assert.equal(analysis.totals.layersWithUnknownMacs, 2);
  });

  it('a custom-domain op is listed with unknown MACs', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 4]);
    builder.node('Relu', ['x'], {}, { name: 'relu', outputs: ['r'] });
    const model = builder.build();
    model.graph?.node?.push({ name: 'custom', opType: 'MyOp', domain: 'com.example', input: ['r'], output: ['y'] });
    model.graph?.output?.push({ name: 'y' });
    model.opsetImport.push({ domain: 'com.example', version: 1 });
    const analysis = await analyzeModel(decodeOnnxModel(encodeOnnx(model), '/tmp/custom.onnx'), { runtimeFallback: false });
    const layer = layerNamed(analysis, 'custom');
    assert.equal(layer.macs, null);
    assert.equal(layer.op, 'com.example.MyOp');
    assert.match(layer.reason ?? '', /custom op/);
  });
});

describe('analyzeModel: symbolic dimensions', function () {
  function symbolic(): GraphBuilder {
    const builder = new GraphBuilder();
    builder.input('image', ['N', 3, 'H', 'W']);
    builder.initializer(float32Tensor('w', [8, 3, 3, 3], randomFloats(216)));
    builder.node('Conv', ['image', 'w'], { pads: [1, 1, 1, 1] }, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    return builder;
  }

  it('a symbolic H and W without --input-shape: MACs unknown, the layer note names them and --input-shape', async function () {
    const analysis = await analyzeBuilt(symbolic());
    const conv = layerNamed(analysis, 'conv');
    assert.equal(conv.macs, null);
    assert.match(conv.note ?? '', /'H'/);
    assert.match(conv.note ?? '', /'W'/);
    assert.match(conv.note ?? '', /--input-shape/);
    assert.deepEqual(analysis.model.inputs[0]?.shape, [1, 3, 'H', 'W']);
    assert.equal(analysis.totals.layersWithUnknownMacs, 1);
    assert.equal(analysis.totals.params, 216);
  });

  it('with --input-shape they resolve: 2 x 8 x 20 x 30 x 27', async function () {
    const analysis = await analyzeBuilt(symbolic(), { inputShapes: { image: [2, 3, 20, 30] } });
    const conv = layerNamed(analysis, 'conv');
    assert.equal(conv.macs, 2 * 8 * 20 * 30 * 27);
    assert.equal(conv.note, null);
    assert.deepEqual(conv.outputShape, [2, 8, 20, 30]);
  });

  it('an input declared without any shape is of unknown rank: MACs unknown (never a wrong number), --input-shape resolves it', async function () {
    const builder = new GraphBuilder();
    builder.initializer(float32Tensor('w', [8, 3, 3, 3], randomFloats(216)));
    builder.node('Conv', ['x', 'w'], {}, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    const proto = builder.build();
    proto.graph?.input?.push({ name: 'x', type: { tensorType: { elemType: DataType.FLOAT } } });
    const model = decodeOnnxModel(encodeOnnx(proto), '/tmp/shapeless.onnx');
    const unknown = await analyzeModel(model);
    assert.equal(layerNamed(unknown, 'conv').macs, null);
    assert.equal(unknown.totals.macs, 0);
    assert.ok(unknown.model.notes.some((n) => /unresolved/.test(n)), unknown.model.notes.join(' | '));
    const given = await analyzeModel(model, { inputShapes: { x: [1, 3, 10, 10] } });
    assert.equal(layerNamed(given, 'conv').macs, 8 * 8 * 8 * 27);
  });

  it('a symbolic batch alone is 1, and --batch 4 multiplies MACs by 4', async function () {
    const builder = new GraphBuilder();
    builder.input('x', ['batch', 16]);
    builder.initializer(float32Tensor('w', [16, 10], randomFloats(160)));
    builder.node('MatMul', ['x', 'w'], {}, { name: 'fc', outputs: ['y'] });
    builder.output('y');
    const one = await analyzeBuilt(builder);
    const four = await analyzeBuilt(builder, { batch: 4 });
    assert.equal(layerNamed(one, 'fc').macs, 160);
    assert.equal(layerNamed(four, 'fc').macs, 640);
    assert.equal(layerNamed(one, 'fc').note, null);
  });
});

describe('analyzeModel: damaged graphs', function () {
  it('a cyclic graph: CORRUPT, the message says cycle', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 4]);
    builder.node('Add', ['x', 'b'], {}, { name: 'first', outputs: ['a'] });
    builder.node('Relu', ['a'], {}, { name: 'second', outputs: ['b'] });
    builder.output('b');
    const error = await expectHalocError(() => analyzeModel(modelOf(builder, '/models/cyclic.onnx')), 'CORRUPT', 'a cyclic graph');
    assert.match(error.message, /cycle/);
    assert.match(error.message, /^\/models\/cyclic\.onnx: /, 'the message names the file');
  });

  it('a node using a tensor nothing provides: CORRUPT naming node and tensor', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 4]);
    builder.node('Add', ['x', 'ghost'], {}, { name: 'adder', outputs: ['y'] });
    builder.output('y');
    const error = await expectHalocError(() => analyzeModel(modelOf(builder, '/models/missing.onnx')), 'CORRUPT', 'a missing tensor');
    assert.match(error.message, /^\/models\/missing\.onnx: /, 'the message names the file');
    assert.match(error.message, /'adder'/);
    assert.match(error.message, /'ghost'/);
  });

  it('an impossible Reshape is reported in a note (static inference and onnxruntime both fail), not thrown', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [2, 3]);
    builder.initializer(int64Tensor('s', [2], [4, 4]));
    builder.node('Reshape', ['x', 's'], {}, { name: 'bad', outputs: ['y'] });
    builder.output('y');
    const analysis = await analyzeModel(modelOf(builder));
    assert.equal(analysis.model.shapeInference, 'static');
    assert.ok(analysis.model.notes.some((n) => /unresolved/.test(n)), analysis.model.notes.join(' | '));
  });
});
