// Writing models back: encode -> decode -> encode is byte-identical on every shared model, every
// node, initializer and field compares equal, writeOnnxFile round-trips through readOnnxModel, and
// fields the engine itself never uses (doc strings, metadata, value_info, functions...) survive.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor, makeAttribute, valueInfo } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel, readOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx, writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { expectHalocError, makeTempDir, randomFloats, removeDir, sharedModel, sharedModelFiles, skipSuiteWithoutSharedModels } from '../testSupport';

type ConversionOptions = NonNullable<Parameters<typeof onnx.ModelProto.toObject>[1]>;

/** A plain-object view of a model with int64 as strings and bytes as base64, for deep comparison. */
function plain<T extends object>(type: { toObject(message: T, options: ConversionOptions): Record<string, unknown> }, message: T): Record<string, unknown> {
  return type.toObject(message, { longs: String, bytes: String, enums: Number, defaults: false, arrays: false });
}

/** Asserts that two models agree field by field: model fields, then per node, initializer, input, output. */
function assertSameModel(actual: onnx.ModelProto, expected: onnx.ModelProto, what: string): void {
  const { graph: actualGraph, ...actualTop } = plain(onnx.ModelProto, actual);
  const { graph: expectedGraph, ...expectedTop } = plain(onnx.ModelProto, expected);
  assert.deepStrictEqual(actualTop, expectedTop, `${what}: model fields`);
  const a = actual.graph as onnx.GraphProto;
  const e = expected.graph as onnx.GraphProto;
  assert.ok(a && e, `${what}: both have a graph`);
  assert.equal(a.node.length, e.node.length, `${what}: node count`);
  a.node.forEach((node, i) => assert.deepStrictEqual(plain(onnx.NodeProto, node), plain(onnx.NodeProto, e.node[i] as onnx.NodeProto), `${what}: node ${i} (${node.name})`));
  assert.equal(a.initializer.length, e.initializer.length, `${what}: initializer count`);
  a.initializer.forEach((tensor, i) => {
    const other = e.initializer[i] as onnx.TensorProto;
    assert.equal(tensor.name, other.name, `${what}: initializer ${i} name`);
    assert.deepStrictEqual(plain(onnx.TensorProto, tensor), plain(onnx.TensorProto, other), `${what}: initializer ${tensor.name}`);
  });
  for (const field of ['input', 'output', 'valueInfo'] as const) {
    assert.deepStrictEqual(a[field].map((v) => plain(onnx.ValueInfoProto, v)), e[field].map((v) => plain(onnx.ValueInfoProto, v)), `${what}: graph.${field}`);
  }
  assert.deepStrictEqual(actualGraph, expectedGraph, `${what}: whole graph`);
}

/** Float values of every float initializer, by name. */
function floatValues(model: OnnxModel): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const tensor of model.graph.initializer ?? []) {
    const constant = model.constants.get(tensor.name ?? '');
    if (constant && constant.dataType === DataType.FLOAT) values.set(tensor.name ?? '', constant.toFloat32());
  }
  return values;
}

describe('writeOnnx: round trip of every shared model', function () {
  let dir: string | undefined;
  before(function () {
    skipSuiteWithoutSharedModels(this);
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  for (const file of sharedModelFiles()) {
    it(`${file}: encode -> decode -> encode is byte-identical and every field compares equal`, function () {
      const original = readOnnxModel(sharedModel(file));
      const first = encodeOnnx(original.proto);
      const decoded = decodeOnnxModel(first, original.filePath);
      const second = encodeOnnx(decoded.proto);
      assert.ok(Buffer.from(first).equals(Buffer.from(second)), `${file}: re-encoding changed the bytes`);
      assertSameModel(decoded.proto, original.proto, file);
      // The file itself (written by another protobuf encoder) decodes to the same message.
      assertSameModel(onnx.ModelProto.decode(fs.readFileSync(sharedModel(file))), decoded.proto, `${file} (file)`);
    });

    it(`${file}: writeOnnxFile -> readOnnxModel keeps every weight value and field`, function () {
      const original = readOnnxModel(sharedModel(file));
      const target = path.join(dir ?? '', file);
      writeOnnxFile(original.proto, target, { protectedPaths: [original.filePath] });
      const reread = readOnnxModel(target);
      assertSameModel(reread.proto, original.proto, file);
      assert.ok(fs.readFileSync(target).equals(Buffer.from(encodeOnnx(original.proto))), 'the file holds exactly encodeOnnx');
      const before = floatValues(original);
      const after = floatValues(reread);
      assert.deepEqual([...after.keys()], [...before.keys()]);
      for (const [name, values] of before) assert.deepEqual(after.get(name), values, `values of ${name}`);
      assert.deepEqual([...reread.constants.keys()].sort(), [...original.constants.keys()].sort(), 'same constants found');
    });
  }
});

describe('writeOnnx: fields the engine does not use survive', function () {
  let dir: string | undefined;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  function richModel(): onnx.ModelProto {
    const builder = new GraphBuilder({ name: 'rich', opset: 17, irVersion: 8 });
    const x = builder.input('x', ['batch', 4]);
    builder.initializer(float32Tensor('w', [4, 3], randomFloats(12)));
    builder.initializer({ name: 'typed', dims: [3], dataType: DataType.FLOAT, floatData: [1.5, -2.25, 3] });
    builder.initializer(int64Tensor('shape', [2], [-1, 3]));
    builder.initializer({ name: 'half', dims: [2], dataType: DataType.FLOAT16, int32Data: [0x3c00, 0xc000] });
    builder.initializer({ name: 'dbl', dims: [1], dataType: DataType.DOUBLE, doubleData: [Math.PI] });
    const [y] = builder.node('MatMul', [x, 'w'], {}, { name: 'mm' });
    const [z] = builder.node('Add', [y ?? '', 'typed'], {}, { name: 'add' });
    builder.node('Reshape', [z ?? '', 'shape'], {}, { name: 'reshape', outputs: ['out'] });
    builder.node('LeakyRelu', ['out'], { alpha: { float: 0.125 } }, { name: 'act', outputs: ['act_out'] });
    builder.output('act_out', ['batch', 3]);
    const model = builder.build();
    model.docString = 'a model with every kind of field';
    model.domain = 'org.example';
    model.modelVersion = 42;
    model.producerVersion = '9.9';
    model.metadataProps = [{ key: 'author', value: 'tests' }, { key: 'licence', value: 'MIT' }];
    model.opsetImport.push({ domain: 'com.example', version: 1 });
    const graph = model.graph as onnx.GraphProto;
    graph.docString = 'graph docs';
    graph.valueInfo = [valueInfo(y ?? '', DataType.FLOAT, ['batch', 3])];
    const node = graph.node[0] as onnx.NodeProto;
    node.docString = 'the matmul';
    node.attribute.push(
      makeAttribute('note', 'kept'),
      makeAttribute('list', [1, -2, 3]),
      makeAttribute('scales', { floats: [0.5, 2] }),
      makeAttribute('table', { tensor: float32Tensor('table', [2], new Float32Array([7, 8])) }),
      { name: 'names', type: onnx.AttributeProto.AttributeType.STRINGS, strings: [Buffer.from('a'), Buffer.from('b')] },
    );
    model.functions = [onnx.FunctionProto.create({ name: 'MyFn', domain: 'com.example', input: ['a'], output: ['b'], node: [{ opType: 'Relu', input: ['a'], output: ['b'] }], opsetImport: [{ domain: '', version: 17 }] })];
    return model;
  }

  it('doc strings, metadata, value_info, extra opset imports, every attribute type, functions, typed-field tensors', function () {
    const model = richModel();
    const file = path.join(dir ?? '', 'rich.onnx');
    writeOnnxFile(model, file);
    const reread = readOnnxModel(file);
    assertSameModel(reread.proto, onnx.ModelProto.decode(encodeOnnx(model)), 'rich');
    assert.equal(reread.proto.docString, 'a model with every kind of field');
    assert.equal(Number(reread.proto.modelVersion), 42);
    assert.equal(reread.proto.functions.length, 1);
    assert.equal(reread.proto.functions[0]?.name, 'MyFn');
    assert.deepEqual(reread.proto.metadataProps.map((p) => [p.key, p.value]), [['author', 'tests'], ['licence', 'MIT']]);
    assert.deepEqual(Array.from(reread.constants.get('typed')?.toFloat32() ?? []), [1.5, -2.25, 3]);
    assert.deepEqual(reread.constants.get('half')?.toNumbers(), [1, -2]);
    assert.deepEqual(reread.constants.get('dbl')?.toNumbers(), [Math.PI]);
    assert.deepEqual(reread.constants.get('shape')?.toNumbers(), [-1, 3]);
    const again = encodeOnnx(reread.proto);
    assert.ok(Buffer.from(again).equals(fs.readFileSync(file)), 'write -> read -> encode is byte-identical');
  });

  it('refuses to overwrite the protected input path and leaves it untouched', async function () {
    const file = path.join(dir ?? '', 'input.onnx');
    writeOnnxFile(richModel(), file);
    const before = fs.readFileSync(file);
    const other = new GraphBuilder();
    other.input('x', [1]);
    other.node('Relu', ['x'], {}, { outputs: ['y'] });
    other.output('y');
    await expectHalocError(() => writeOnnxFile(other.build(), file, { protectedPaths: [file] }), 'BAD_ARGUMENT');
    assert.ok(fs.readFileSync(file).equals(before));
    assert.deepEqual(fs.readdirSync(dir ?? ''), ['input.onnx'], 'no temporary file left behind');
  });

  it('a failed write (folder missing) is a HalocError and leaves nothing behind', async function () {
    const file = path.join(dir ?? '', 'missing-folder', 'out.onnx');
    await expectHalocError(() => writeOnnxFile(richModel(), file), 'IO');
    assert.deepEqual(fs.readdirSync(dir ?? ''), []);
  });
});
