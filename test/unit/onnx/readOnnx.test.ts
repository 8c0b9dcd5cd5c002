// Reading .onnx files: the shared models, initializers listed as graph inputs, and every kind of bad
// file (missing, folder, empty, text, truncated at each tenth), which must fail with a typed one-line
// error that names the file.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HalocError } from '../../../engine/errors';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { onnx } from '../../../engine/onnx/proto';
import { writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { expectHalocError, makeTempDir, randomFloats, removeDir, sharedModel, sharedModelFiles, skipSuiteWithoutSharedModels } from '../testSupport';

/** Reads and analyzes a file, as `haloc analyze` does. */
async function loadAndAnalyze(file: string): Promise<void> {
  await analyzeModel(readOnnxModel(file));
}

describe('readOnnxModel: shared models', function () {
  before(function () {
    skipSuiteWithoutSharedModels(this);
  });

  it('reads every shared model with its opset, inputs and every initializer as a constant', function () {
    const files = sharedModelFiles();
    assert.ok(files.length >= 4, `expected the four shared models, found ${files.join(', ')}`);
    for (const file of files) {
      const model = readOnnxModel(sharedModel(file));
      assert.equal(model.fileSizeBytes, fs.statSync(sharedModel(file)).size, file);
      assert.equal(model.dir, path.dirname(path.resolve(sharedModel(file))), file);
      for (const tensor of model.graph.initializer ?? []) {
        const constant = model.constants.get(tensor.name ?? '');
        assert.ok(constant, `${file}: initializer ${tensor.name ?? ''} is not a constant`);
        assert.deepEqual([...constant.dims], (tensor.dims ?? []).map(Number), `${file}: dims of ${tensor.name ?? ''}`);
        assert.deepEqual(constant.origin, { kind: 'initializer' });
      }
    }
  });

  it('resnet20-cifar10: opset 13, input [N,3,32,32], conv1 weight values readable', function () {
    const model = readOnnxModel(sharedModel('resnet20-cifar10.onnx'));
    assert.equal(model.opsetVersion, 13);
    assert.equal(model.graph.input?.length, 1);
    assert.equal(model.graph.input?.[0]?.name, 'input');
    const weight = model.constants.get('conv1.weight');
    assert.ok(weight);
    assert.deepEqual([...weight.dims], [16, 3, 3, 3]);
    const values = weight.toFloat32();
    assert.equal(values.length, 432);
    assert.ok(values.every(Number.isFinite));
    assert.ok(values.some((v) => v !== 0), 'weights are not all zero');
  });

  it('weight bytes are views into the one file buffer (read once, never copied while decoding)', function () {
    const model = readOnnxModel(sharedModel('resnet20-cifar10.onnx'));
    const buffers = new Set((model.graph.initializer ?? []).map((t) => t.rawData?.buffer));
    assert.equal(buffers.size, 1, 'every raw_data shares one ArrayBuffer');
    const [buffer] = buffers;
    assert.ok(buffer && buffer.byteLength >= model.fileSizeBytes && buffer.byteLength < 2 * model.fileSizeBytes, 'that buffer is the file');
  });

  it('mnist-8: initializers listed as graph inputs are constants, the MatMul weight comes through a Reshape', function () {
    const model = readOnnxModel(sharedModel('mnist-8.onnx'));
    assert.equal(model.opsetVersion, 8);
    assert.equal(model.graph.input?.length, 9, 'IR 3 lists the 8 initializers as graph inputs too');
    const weight = model.constants.get('Parameter193_reshape1');
    assert.ok(weight);
    assert.deepEqual([...weight.dims], [256, 10]);
    assert.deepEqual(weight.origin, { kind: 'folded', op: 'Reshape', fromTensor: 'Parameter193' });
    assert.equal(weight.storageName, 'Parameter193');
    const stored = model.constants.get('Parameter193');
    assert.ok(stored);
    assert.deepEqual(weight.toFloat32(), stored.toFloat32(), 'a reshape keeps the row-major values');
  });
});

describe('readOnnxModel: initializers also listed as graph inputs', function () {
  let dir: string | undefined;
  afterEach(() => removeDir(dir));

  it('treats them as weights, not as inputs to feed', async function () {
    dir = makeTempDir();
    const builder = new GraphBuilder({ irVersion: 3, opset: 8 });
    const x = builder.input('x', [1, 4]);
    builder.input('w', [4, 3]); // the initializer, declared as an input too (IR < 4 style)
    builder.initializer(float32Tensor('w', [4, 3], randomFloats(12)));
    builder.node('MatMul', [x, 'w'], {}, { name: 'fc', outputs: ['y'] });
    builder.output('y', [1, 3]);
    const file = path.join(dir, 'inputs.onnx');
    writeOnnxFile(builder.build(), file);
    const model = readOnnxModel(file);
    assert.ok(model.constants.has('w'));
    const analysis = await analyzeModel(model);
    assert.deepEqual(analysis.model.inputs, [{ name: 'x', shape: [1, 4], elemType: 1 }]);
    const fc = analysis.layers.find((l) => l.name === 'fc');
    assert.ok(fc);
    assert.equal(fc.macs, 1 * 4 * 3);
    assert.equal(fc.params, 12);
    assert.deepEqual(fc.weightShape, [4, 3]);
    assert.equal(fc.compressible, true);
  });
});

describe('readOnnxModel: bad files', function () {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  it('a missing file: NOT_FOUND naming the file', async function () {
    const file = path.join(dir, 'nope.onnx');
    const error = await expectHalocError(() => readOnnxModel(file), 'NOT_FOUND');
    assert.ok(error.message.includes(file), error.message);
  });

  it('a folder: NOT_ONNX naming it', async function () {
    const folder = path.join(dir, 'folder.onnx');
    fs.mkdirSync(folder);
    const error = await expectHalocError(() => readOnnxModel(folder), 'NOT_ONNX');
    assert.ok(error.message.includes(folder), error.message);
  });

  it('an empty file: NOT_ONNX naming it', async function () {
    const file = path.join(dir, 'empty.onnx');
    fs.writeFileSync(file, '');
    const error = await expectHalocError(() => readOnnxModel(file), 'NOT_ONNX');
    assert.ok(error.message.includes(file), error.message);
    assert.match(error.message, /empty/);
  });

  const texts: Record<string, string> = {
    'text.onnx': 'This is not an ONNX model.\nJust some text, in two lines.\n',
    'json.onnx': JSON.stringify({ irVersion: 8, graph: { node: [] } }),
    'script.onnx': '#!/bin/sh\necho hello\n',
    'onebyte.onnx': 'x',
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`a text file (${name}): a HalocError naming it`, async function () {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const error = await expectHalocError(() => loadAndAnalyze(file), undefined, name);
      assert.ok(['NOT_ONNX', 'CORRUPT'].includes(error.code), `${error.code}: ${error.message}`);
      assert.ok(error.message.includes(file), `message should name the file: ${error.message}`);
    });
  }

  it('random bytes: a HalocError naming the file', async function () {
    const file = path.join(dir, 'random.onnx');
    fs.writeFileSync(file, Buffer.from(randomFloats(1000, 7).buffer));
    const error = await expectHalocError(() => loadAndAnalyze(file), undefined, 'random bytes');
    assert.ok(error.message.includes(file), error.message);
  });

  it('a valid protobuf that is no model (a TensorProto): NOT_ONNX', async function () {
    const file = path.join(dir, 'tensor.onnx');
    fs.writeFileSync(file, onnx.TensorProto.encode(float32Tensor('t', [2], new Float32Array([1, 2]))).finish());
    const error = await expectHalocError(() => loadAndAnalyze(file), undefined, 'a TensorProto');
    assert.ok(error.message.includes(file), error.message);
  });

  describe('resnet20 truncated at every tenth of its length', function () {
    before(function () {
      skipSuiteWithoutSharedModels(this);
    });
    for (let tenth = 1; tenth <= 9; tenth++) {
      it(`cut at ${tenth}/10: a one-line HalocError naming the file, never another error`, async function () {
        const bytes = fs.readFileSync(sharedModel('resnet20-cifar10.onnx'));
        const file = path.join(dir, `resnet20-cut${tenth}.onnx`);
        fs.writeFileSync(file, bytes.subarray(0, Math.floor((bytes.length * tenth) / 10)));
        const error = await expectHalocError(() => loadAndAnalyze(file), undefined, `the file cut at ${tenth}/10`);
        assert.ok(error.message.includes(file), `message should name the file: ${error.message}`);
        assert.ok(error instanceof HalocError);
      });
    }
    it('cut inside the last node or just before the end: still a HalocError', async function () {
      const bytes = fs.readFileSync(sharedModel('resnet20-cifar10.onnx'));
      for (const keep of [bytes.length - 1, bytes.length - 20, bytes.length - 100, 10, 100]) {
        const file = path.join(dir, `resnet20-keep${keep}.onnx`);
        fs.writeFileSync(file, bytes.subarray(0, keep));
        const error = await expectHalocError(() => loadAndAnalyze(file), undefined, `the file cut to ${keep} bytes`);
        assert.ok(error.message.includes(file), `message should name the file: ${error.message}`);
      }
    });
  });

});
