// The untouched part timed inside the model: every compressible layer's node, the activation fused
// into it and their outputs get the layer mark, everything else keeps its name, the model computes
// the same; onnxruntime's profile of it names every layer node with the mark (so timeKernels leaves
// them out), on the tiny model and on the shared ResNet-20 (NCHWc convolutions with fused additions).
// No assertion on a time.
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { randomFeeds, timeKernels } from '../../../engine/hardware/timeSession';
import { layerMark, untouchedInContext } from '../../../engine/hardware/untouchedInContext';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx, inlineExternalData } from '../../../engine/onnx/writeOnnx';
import { sharedModel, skipSuiteWithoutSharedModels } from '../testSupport';
import { analyzed, lightTiming, twinConvModel, type Analyzed } from './hardwareSupport';

async function outputs(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run(feeds);
    return session.outputNames.map((name) => result[name]?.data as Float32Array);
  } finally {
    await session.release();
  }
}

describe('untouchedInContext', function () {
  this.timeout(30_000);
  let twin: Analyzed;

  before(async function () {
    twin = await analyzed(twinConvModel(), 1);
  });

  it('marks the layers\' nodes, their fused activations and their outputs; the rest keeps its names', function () {
    const marked = untouchedInContext(twin.model, twin.analysis.layers.filter((l) => l.compressible));
    const nodes = marked.graph?.node ?? [];
    assert.deepEqual(nodes.map((n) => n.name), ['conv1', 'relu1', 'conv2', 'relu2', 'flatten', 'fc'].map((n) => (n === 'flatten' ? n : `${layerMark}${n}`)));
    assert.deepEqual(nodes.map((n) => n.output?.[0]), ['a', 'a_relu', 'b', 'b_relu', 'flat', 'logits'].map((n) => (n === 'flat' ? n : `${layerMark}${n}`)));
    assert.deepEqual(nodes.map((n) => n.input?.[0]), ['x', `${layerMark}a`, `${layerMark}a_relu`, `${layerMark}b`, `${layerMark}b_relu`, 'flat'], 'consumers read the renamed values');
    assert.deepEqual((marked.graph?.output ?? []).map((o) => o.name), [`${layerMark}logits`]);
    assert.deepEqual((marked.graph?.input ?? []).map((i) => i.name), (twin.model.graph.input ?? []).map((i) => i.name), 'inputs are fed as before');
    assert.equal(twin.model.graph.node?.[0]?.name, 'conv1', 'the model itself is not changed');
  });

  it('only the given layers are marked', function () {
    const marked = untouchedInContext(twin.model, twin.analysis.layers.filter((l) => l.name === 'conv2'));
    assert.deepEqual((marked.graph?.node ?? []).map((n) => n.name), ['conv1', 'relu1', `${layerMark}conv2`, `${layerMark}relu2`, 'flatten', 'fc']);
  });

  it('computes what the model computes', async function () {
    const marked = untouchedInContext(twin.model, twin.analysis.layers.filter((l) => l.compressible));
    const feeds = randomFeeds([{ name: 'x', dims: [1, 8, 8, 8] }]);
    const [before] = await outputs(encodeOnnx(inlineExternalData(twin.model.proto, twin.model.constants)), feeds);
    const [after] = await outputs(encodeOnnx(marked), feeds);
    assert.deepEqual([...(after ?? [])], [...(before ?? [])]);
  });

  it('timeKernels leaves out every node of the marked layers and counts the rest', async function () {
    const layers = twin.analysis.layers.filter((l) => l.compressible);
    const timing = await timeKernels(untouchedInContext(twin.model, layers), [{ name: 'x', dims: [1, 8, 8, 8] }], lightTiming, { leaveOut: layerMark, keepBorders: true });
    assert.ok(timing.leftOutNodes >= layers.length, `left out ${timing.leftOutNodes} nodes for ${layers.length} layers`);
    assert.ok(Number.isFinite(timing.kernelMs) && timing.kernelMs > 0, 'Flatten is still counted');
    const all = await timeKernels(untouchedInContext(twin.model, layers), [{ name: 'x', dims: [1, 8, 8, 8] }], lightTiming, { keepBorders: true });
    assert.equal(all.leftOutNodes, 0);
  });
});

describe('untouchedInContext on the shared ResNet-20', function () {
  this.timeout(60_000);

  before(function () {
    skipSuiteWithoutSharedModels(this);
  });

  it('onnxruntime\'s names of the transformed and fused layer nodes keep the mark: at least one left out per layer', async function () {
    const model = readOnnxModel(sharedModel('resnet20-cifar10.onnx'));
    const analysis = await analyzeModel(model, { batch: 1 });
    const layers = analysis.layers.filter((l) => l.compressible);
    assert.equal(layers.length, 20);
    const timing = await timeKernels(untouchedInContext(model, layers), [{ name: 'input', dims: [1, 3, 32, 32] }], lightTiming, { leaveOut: layerMark, keepBorders: true });
    assert.ok(timing.leftOutNodes >= layers.length, `left out ${timing.leftOutNodes} nodes for ${layers.length} layers`);
    assert.ok(timing.kernelMs > 0);
  });
});
