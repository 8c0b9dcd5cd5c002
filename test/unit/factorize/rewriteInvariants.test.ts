// Invariants of the written rewrite, checked on the written file against the original file: every
// untouched node and initializer is byte-identical (encoded protobuf) and in the same order; node
// names and tensor names are unique; every new intermediate tensor has value_info with the shape that
// onnxruntime measures (symbolic batch kept symbolic, checked at batch 3); the weight of a factorized
// layer is gone from the initializers, from graph.input where it was listed there, and so is whatever
// only produced it (a Reshape of an initializer, a Constant node); nothing is left dangling.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { compressModel, type CompressReport } from '../../../engine/factorize/compressModel';
import { float32Tensor, GraphBuilder, int64Tensor, valueInfo } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { int64ToNumber, onnx } from '../../../engine/onnx/proto';
import { makeTempDir, onnxruntimeShapes, randomFloats, removeDir, sharedModel, sharedModelsDir } from '../testSupport';
import { declaredInputDims, measuredDifference, writeModel } from './factorizeSupport';
import * as fs from 'node:fs';

const encodeNode = (n: onnx.INodeProto): string => Buffer.from(onnx.NodeProto.encode(n).finish()).toString('base64');
const encodeTensor = (t: onnx.ITensorProto): string => Buffer.from(onnx.TensorProto.encode(t).finish()).toString('base64');

/**
 * Names that collide with the rewrite's natural choices, a weight shared by two convs, an unnamed
 * node, weights also listed in graph.input (IR 3 style), a Gemm weight behind Reshape of an
 * initializer, a MatMul weight from a Constant node, and an initializer that is also a graph output.
 */
function trickyModel(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'tricky', irVersion: 3, opset: 13 });
  const w = (name: string, dims: number[], seed: number): string => b.initializer(float32Tensor(name, dims, randomFloats(dims.reduce((p, d) => p * d, 1), seed).map((v) => v * 0.3)));
  b.input('x', ['N', 8, 10, 10]);
  const a = b.node('Conv', ['x', w('conv_a.weight', [12, 8, 3, 3], 1), w('conv_a.bias', [12], 2)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv_a', outputs: ['a'] })[0] ?? '';
  // Tensors and a node already called like the rewrite's first choices for conv_a.
  const collide = b.node('Add', [a, w('conv_a.tucker_in.weight', [1], 3)], {}, { name: 'conv_a/tucker_in', outputs: ['conv_a.tucker_in'] })[0] ?? '';
  const shared = w('shared.weight', [12, 12, 3, 3], 4);
  const c1 = b.node('Conv', [collide, shared], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv_shared_1', outputs: ['c1'] })[0] ?? '';
  const c2 = b.node('Conv', [c1, shared], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, { name: 'conv_shared_2', outputs: ['c2'] })[0] ?? '';
  const flat = b.node('Flatten', [c2], {}, { name: 'flatten', outputs: ['flat'] })[0] ?? ''; // [N, 300]
  b.initializer(int64Tensor('fc.shape', [2], [300, 40]));
  const reshaped = b.node('Reshape', [w('fc.weight_flat', [12000], 5), 'fc.shape'], {}, { name: 'fc.reshape', outputs: ['fc.weight'] })[0] ?? '';
  const fc = b.node('Gemm', [flat, reshaped, w('fc.bias', [40], 6)], {}, { name: '', outputs: ['fc.y'] })[0] ?? ''; // unnamed node
  const constant = b.node('Constant', [], { value: { tensor: float32Tensor('head.w', [40, 24], randomFloats(960, 7).map((v) => v * 0.3)) } }, { name: 'head.const', outputs: ['head.weight'] })[0] ?? '';
  b.node('MatMul', [b.node('Relu', [fc], {}, { name: 'relu' })[0] ?? '', constant], {}, { name: 'head', outputs: ['y'] });
  b.output('y', ['N', 24]);
  b.output('conv_a.bias', [12]); // an initializer that is also a graph output
  const model = b.build();
  const graph = model.graph as onnx.GraphProto;
  // IR 3: initializers listed in graph.input too.
  for (const name of ['conv_a.weight', 'conv_a.bias', 'shared.weight', 'fc.weight_flat', 'fc.shape']) {
    const t = graph.initializer.find((i) => i.name === name);
    graph.input.push(onnx.ValueInfoProto.create(valueInfo(name, t?.dataType ?? 1, (t?.dims ?? []).map(int64ToNumber))));
  }
  return model;
}

interface Case {
  readonly title: string;
  readonly file: () => string;
  /** Nodes that exist only to produce a factorized weight (removed with it). */
  readonly weightProducers: readonly string[];
}

/** All invariants of one compression, read back from the written file. */
async function checkInvariants(inputFile: string, report: CompressReport, weightProducers: readonly string[]): Promise<void> {
  const before = readOnnxModel(inputFile).graph;
  const after = readOnnxModel(report.output).graph;
  const factorized = new Set(report.layers.filter((l) => l.rank !== 'keep').map((l) => l.name));
  assert.ok(factorized.size > 0);
  const nodeLabel = (n: onnx.INodeProto, i: number): string => n.name || `${n.opType ?? ''}#${i}`;
  const removedNodes = new Set((before.node ?? []).filter((n, i) => factorized.has(nodeLabel(n, i)) || weightProducers.includes(n.name ?? '')));
  const weightNames = new Set((before.node ?? []).filter((n, i) => factorized.has(nodeLabel(n, i))).map((n) => n.input?.[1] ?? ''));

  // 1. Untouched nodes: byte-identical, same relative order.
  const kept = (before.node ?? []).filter((n) => !removedNodes.has(n)).map(encodeNode);
  const afterEncoded = (after.node ?? []).map(encodeNode);
  let cursor = 0;
  for (const [i, node] of kept.entries()) {
    const found = afterEncoded.indexOf(node, cursor);
    assert.ok(found >= 0, `untouched node #${i} is missing, changed or out of order in the output`);
    cursor = found + 1;
  }
  assert.equal(after.node?.length, kept.length + report.layers.reduce((s, l) => s + (l.rank === 'keep' ? 0 : l.decomposition === 'tucker2' ? 3 : 2), 0), 'node count: untouched + 3 per Tucker-2 + 2 per SVD');

  // 2. Initializers: the untouched ones byte-identical; the factorized weights and what only fed them removed (also from graph.input).
  const afterTensors = new Map((after.initializer ?? []).map((t) => [t.name ?? '', encodeTensor(t)]));
  // Still needed: inputs of untouched nodes, graph outputs, and a factorized layer's inputs other than its weight (x, bias).
  const factorizedInputs = (before.node ?? []).filter((n, i) => factorized.has(nodeLabel(n, i))).flatMap((n) => (n.input ?? []).filter((_, i) => i !== 1));
  const stillUsed = new Set([...(before.node ?? []).filter((n) => !removedNodes.has(n)).flatMap((n) => n.input ?? []), ...factorizedInputs, ...(before.output ?? []).map((o) => o.name)]);
  for (const tensor of before.initializer ?? []) {
    const name = tensor.name ?? '';
    if (stillUsed.has(name)) assert.equal(afterTensors.get(name), encodeTensor(tensor), `initializer ${name} must be unchanged`);
    else {
      assert.ok(!afterTensors.has(name), `initializer ${name} only fed factorized layers: it must be removed`);
      assert.ok(!(after.input ?? []).some((i) => i.name === name), `${name} must be removed from graph.input too`);
    }
  }
  for (const name of weightNames) {
    assert.ok(!afterTensors.has(name), `factorized weight ${name} is still an initializer`);
    assert.ok(!(after.input ?? []).some((i) => i.name === name), `factorized weight ${name} is still in graph.input`);
    assert.ok(!(after.node ?? []).some((n) => n.output?.includes(name)), `factorized weight ${name} is still produced by a node`);
    assert.ok(!(after.valueInfo ?? []).some((v) => v.name === name), `factorized weight ${name} still has value_info`);
  }

  // 3. Unique names; one producer per tensor; nothing dangling.
  const nodeNames = (after.node ?? []).map((n) => n.name ?? '').filter(Boolean);
  assert.equal(new Set(nodeNames).size, nodeNames.length, `duplicate node names: ${nodeNames.filter((n, i) => nodeNames.indexOf(n) !== i).join(', ')}`);
  // Each tensor has one source: a node output, an initializer, or a graph input (an initializer may also be listed as an input).
  const sources = [...new Set([...(after.input ?? []).map((i) => i.name ?? ''), ...(after.initializer ?? []).map((t) => t.name ?? '')]), ...(after.node ?? []).flatMap((n) => n.output ?? [])];
  const twice = sources.filter((n, i) => sources.indexOf(n) !== i);
  assert.deepEqual(twice, [], 'tensor names with two sources');
  const initializerList = (after.initializer ?? []).map((t) => t.name ?? '');
  assert.equal(new Set(initializerList).size, initializerList.length, 'duplicate initializer names');
  const produced = sources;
  const infoNames = (after.valueInfo ?? []).map((v) => v.name ?? '');
  assert.equal(new Set(infoNames).size, infoNames.length, 'duplicate value_info');
  const consumed = new Set([...(after.node ?? []).flatMap((n) => n.input ?? []), ...(after.output ?? []).map((o) => o.name ?? '')]);
  const deadBefore = new Set((before.node ?? []).flatMap((n) => n.output ?? []).filter((o) => !(before.node ?? []).some((m) => m.input?.includes(o)) && !(before.output ?? []).some((x) => x.name === o)));
  for (const node of after.node ?? []) for (const out of node.output ?? []) assert.ok(consumed.has(out) || deadBefore.has(out), `node ${node.name ?? ''}: output ${out} is used by nothing (left over from a factorized layer?)`);
  for (const t of after.initializer ?? []) assert.ok(consumed.has(t.name ?? ''), `initializer ${t.name ?? ''} is used by nothing`);
  for (const v of after.valueInfo ?? []) assert.ok(produced.includes(v.name ?? ''), `value_info ${v.name ?? ''} names no tensor of the graph`);

  // 4. value_info of every new intermediate tensor, with the measured shape at batch 3.
  const oldTensors = new Set((before.node ?? []).flatMap((n) => n.output ?? []));
  const graphOutputs = new Set((after.output ?? []).map((o) => o.name));
  const fresh = (after.node ?? []).flatMap((n) => n.output ?? []).filter((o) => !oldTensors.has(o) && !graphOutputs.has(o));
  assert.ok(fresh.length > 0);
  const measured = await onnxruntimeShapes(onnx.ModelProto.decode(fs.readFileSync(report.output)), declaredInputDims(inputFile, 3));
  const initializerNames = new Set((before.initializer ?? []).map((t) => t.name));
  const symbolicBatch = (before.input ?? []).some((i) => !initializerNames.has(i.name) && Boolean(i.type?.tensorType?.shape?.dim?.[0]?.dimParam));
  for (const name of fresh) {
    const info = (after.valueInfo ?? []).find((v) => v.name === name);
    assert.ok(info, `new tensor ${name} has no value_info`);
    const dims = info.type?.tensorType?.shape?.dim ?? [];
    assert.equal(info.type?.tensorType?.elemType, onnx.TensorProto.DataType.FLOAT, `${name}: elem type`);
    const real = measured.get(name);
    assert.ok(real, `onnxruntime gave no shape for ${name}`);
    assert.equal(dims.length, real.length, `${name}: rank of value_info [${dims.map((d) => d.dimParam || int64ToNumber(d.dimValue ?? 0)).join(', ')}] vs measured [${real.join(', ')}]`);
    dims.forEach((d, axis) => {
      if (d.dimParam) assert.ok(symbolicBatch && axis === 0, `${name}: symbolic dim '${d.dimParam}' at axis ${axis}`);
      else assert.equal(int64ToNumber(d.dimValue ?? -1), real[axis], `${name}: axis ${axis} of value_info [${dims.map((x) => x.dimParam || int64ToNumber(x.dimValue ?? 0)).join(', ')}] vs measured [${real.join(', ')}] at batch 3`);
    });
  }
}

describe('factorize: invariants of the rewrite', function () {
  let dir = '';
  before(() => (dir = makeTempDir('haloc-factorize-invariants-')));
  after(() => removeDir(dir));

  const cases: Case[] = [
    { title: 'resnet20-cifar10-unfused-bn (shared), rank 0.5', file: () => sharedModel('resnet20-cifar10-unfused-bn.onnx'), weightProducers: [] },
    { title: 'mnist-8 (shared): weights listed in graph.input, the MatMul weight a Reshape of an initializer', file: () => sharedModel('mnist-8.onnx'), weightProducers: ['Times212_reshape1'] },
    { title: 'generated: colliding names, a shared weight, an unnamed Gemm, weights in graph.input, weights behind Reshape and Constant', file: () => writeModel(trickyModel(), dir, 'tricky.onnx'), weightProducers: ['fc.reshape', 'head.const'] },
  ];
  for (const c of cases) {
    it(`${c.title}: untouched nodes/initializers byte-identical, unique names, value_info of new tensors = measured shapes, factorized weights removed`, async function () {
      const file = c.file();
      if (file.startsWith(sharedModelsDir()) && !fs.existsSync(file)) this.skip();
      const report = await compressModel(file, { choice: { kind: 'uniform', fraction: 0.5 }, outputPath: path.join(dir, `${path.basename(file, '.onnx')}.u50.onnx`) });
      await checkInvariants(file, report, c.weightProducers);
    });
  }

  it('generated tricky model at full rank: equal outputs (< 1e-4, measured at batch 3)', async function () {
    const file = writeModel(trickyModel(), dir, 'tricky-full.onnx');
    const report = await compressModel(file, { choice: { kind: 'uniform', fraction: 1 }, outputPath: path.join(dir, 'tricky-full.u100.onnx') });
    assert.deepEqual(report.layers.map((l) => l.name).sort(), ['Gemm#6', 'conv_a', 'conv_shared_1', 'conv_shared_2', 'head'].sort());
    const rel = await measuredDifference(file, report.output, 3);
    assert.ok(rel < 1e-4, `measured ${rel}`);
  });
});
