// External data: writeOnnxFile with externalDataMinBytes moves big initializers to `<file>.data`;
// reading them back gives the same values; a missing data file, a location that leaves the model's
// folder (../x, absolute) or a symlink pointing outside it are refused with typed errors.
import { isFloatType } from '../../../engine/onnx/dataType';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx, writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { expectHalocError, makeTempDir, randomFloats, removeDir } from '../testSupport';

const W1 = randomFloats(8 * 3 * 3 * 3, 11); // 864 bytes
const B1 = randomFloats(8, 12); // 32 bytes: stays inline at a 100-byte threshold
const W2 = randomFloats(10 * 8 * 4 * 4, 13); // 5120 bytes

/** conv(3->8, 3x3, pad 1) on 1x3x4x4 -> reshape [1, 128] -> gemm(transB) to 10 classes. */
function smallNet(): onnx.ModelProto {
  const builder = new GraphBuilder({ name: 'external' });
  builder.input('x', [1, 3, 4, 4]);
  builder.initializer(float32Tensor('w1', [8, 3, 3, 3], W1));
  builder.initializer(float32Tensor('b1', [8], B1));
  builder.initializer(float32Tensor('w2', [10, 128], W2));
  builder.initializer(int64Tensor('flat', [2], [1, 128]));
  builder.node('Conv', ['x', 'w1', 'b1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv', outputs: ['c'] });
  builder.node('Reshape', ['c', 'flat'], {}, { name: 'flatten', outputs: ['f'] });
  builder.node('Gemm', ['f', 'w2'], { transB: 1 }, { name: 'fc', outputs: ['y'] });
  builder.output('y', [1, 10]);
  return builder.build();
}

/** Writes a model whose one initializer points at `location` (no data written). */
function writeWithLocation(dir: string, location: string, length = W1.byteLength): string {
  const model = smallNet();
  const graph = model.graph as onnx.GraphProto;
  const tensor = graph.initializer[0] as onnx.TensorProto;
  graph.initializer[0] = onnx.TensorProto.create({
    name: tensor.name,
    dims: tensor.dims,
    dataType: tensor.dataType,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(length) },
    ],
  });
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeOnnx(model));
  return file;
}

describe('external data', function () {
  let root: string | undefined;
  let dir: string;
  beforeEach(() => {
    root = makeTempDir();
    dir = path.join(root, 'models');
    fs.mkdirSync(dir);
  });
  afterEach(() => removeDir(root));

  it('writeOnnxFile with externalDataMinBytes moves big initializers to <file>.data, aligned, and reads them back', async function () {
    const file = path.join(dir, 'net.onnx');
    writeOnnxFile(smallNet(), file, { externalDataMinBytes: 100 });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['net.onnx', 'net.onnx.data']);
    const model = readOnnxModel(file);
    const byName = new Map((model.graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    const external = (name: string): Record<string, string> => Object.fromEntries((byName.get(name)?.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    assert.equal(byName.get('w1')?.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
    assert.equal(byName.get('w2')?.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
    assert.notEqual(byName.get('b1')?.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL, 'a 32-byte bias stays inline');
    assert.notEqual(byName.get('flat')?.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL, 'a 16-byte shape stays inline');
    assert.deepEqual(external('w1'), { location: 'net.onnx.data', offset: '0', length: String(W1.byteLength) });
    const w2 = external('w2');
    assert.equal(w2.location, 'net.onnx.data');
    assert.equal(Number(w2.offset) % 64, 0, 'offsets are 64-byte aligned');
    assert.ok(Number(w2.offset) >= W1.byteLength);
    assert.equal(Number(w2.length), W2.byteLength);
    assert.equal(fs.statSync(path.join(dir, 'net.onnx.data')).size, Number(w2.offset) + W2.byteLength);
    assert.equal(byName.get('w1')?.rawData?.length ?? 0, 0, 'no inline copy of a moved tensor');
    assert.deepEqual(model.constants.get('w1')?.toFloat32(), W1);
    assert.deepEqual(model.constants.get('w2')?.toFloat32(), W2);
    assert.deepEqual(model.constants.get('b1')?.toFloat32(), B1);
    const analysis = await analyzeModel(model);
    assert.equal(analysis.totals.params, W1.length + B1.length + W2.length);
    assert.equal(analysis.totals.macs, 1 * 8 * 4 * 4 * (3 * 3 * 3) + 1 * 10 * 128);
  });

  it('externalDataMinBytes 0 moves every raw float tensor (integer tensors stay inline), and the result reads back identically', function () {
    const file = path.join(dir, 'all.onnx');
    writeOnnxFile(smallNet(), file, { externalDataMinBytes: 0 });
    const model = readOnnxModel(file);
    const isExternal = (t: onnx.ITensorProto): boolean => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
    assert.ok((model.graph.initializer ?? []).every((t) => isExternal(t) === isFloatType(t.dataType ?? 0)), 'float tensors external, integer tensors inline');
    assert.deepEqual(model.constants.get('flat')?.toNumbers(), [1, 128]);
    assert.deepEqual(model.constants.get('b1')?.toFloat32(), B1);
  });

  it('re-writing an external-data model to another folder copies its data (constants given)', function () {
    const first = path.join(dir, 'a.onnx');
    writeOnnxFile(smallNet(), first, { externalDataMinBytes: 100 });
    const model = readOnnxModel(first);
    const otherDir = path.join(root ?? '', 'copy');
    fs.mkdirSync(otherDir);
    const second = path.join(otherDir, 'b.onnx');
    writeOnnxFile(model.proto, second, { constants: model.constants });
    assert.deepEqual(fs.readdirSync(otherDir).sort(), ['b.onnx', 'b.onnx.data']);
    const copy = readOnnxModel(second);
    assert.deepEqual(copy.constants.get('w1')?.toFloat32(), W1);
    assert.deepEqual(copy.constants.get('w2')?.toFloat32(), W2);
  });

  it('the data file missing: MISSING_EXTERNAL_DATA naming the data file', async function () {
    const file = path.join(dir, 'net.onnx');
    writeOnnxFile(smallNet(), file, { externalDataMinBytes: 100 });
    fs.rmSync(path.join(dir, 'net.onnx.data'));
    const error = await expectHalocError(() => readOnnxModel(file), 'MISSING_EXTERNAL_DATA');
    assert.match(error.message, /net\.onnx\.data/);
    assert.ok(error.message.startsWith(`${file}: `), `the message names the model file: ${error.message}`);
  });

  it('the data file shorter than the model says: CORRUPT', async function () {
    const file = writeWithLocation(dir, 'short.bin');
    fs.writeFileSync(path.join(dir, 'short.bin'), Buffer.alloc(W1.byteLength - 4));
    await expectHalocError(() => readOnnxModel(file), 'CORRUPT');
  });

  it('a length that does not match the tensor shape: CORRUPT', async function () {
    const file = writeWithLocation(dir, 'long.bin', W1.byteLength + 4);
    fs.writeFileSync(path.join(dir, 'long.bin'), Buffer.alloc(W1.byteLength + 4));
    await expectHalocError(() => readOnnxModel(file), 'CORRUPT');
  });

  it('an external tensor without a location: CORRUPT', async function () {
    const model = smallNet();
    const tensor = (model.graph as onnx.GraphProto).initializer[0] as onnx.TensorProto;
    tensor.rawData = new Uint8Array(0);
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.externalData = [{ key: 'offset', value: '0' }];
    const file = path.join(dir, 'noloc.onnx');
    fs.writeFileSync(file, encodeOnnx(model));
    await expectHalocError(() => readOnnxModel(file), 'CORRUPT');
  });

  it("location '../x' (leaves the folder): UNSAFE_PATH, even when that file exists", async function () {
    fs.writeFileSync(path.join(root ?? '', 'x'), Buffer.from(W1.buffer));
    const file = writeWithLocation(dir, '../x');
    const error = await expectHalocError(() => readOnnxModel(file), 'UNSAFE_PATH');
    assert.ok(error.message.startsWith(`${file}: `), `the message names the model file: ${error.message}`);
    const nested = writeWithLocation(dir, 'sub/../../x');
    await expectHalocError(() => readOnnxModel(nested), 'UNSAFE_PATH');
  });

  it('an absolute location: UNSAFE_PATH, even inside the folder', async function () {
    const inside = path.join(dir, 'w.bin');
    fs.writeFileSync(inside, Buffer.from(W1.buffer));
    const file = writeWithLocation(dir, inside);
    await expectHalocError(() => readOnnxModel(file), 'UNSAFE_PATH');
    await expectHalocError(() => readOnnxModel(writeWithLocation(dir, '/etc/passwd')), 'UNSAFE_PATH');
    await expectHalocError(() => readOnnxModel(writeWithLocation(dir, 'C:\\weights.bin')), 'UNSAFE_PATH');
  });

  it('a symlink inside the folder pointing outside it: UNSAFE_PATH', async function () {
    const outside = path.join(root ?? '', 'outside.bin');
    fs.writeFileSync(outside, Buffer.from(W1.buffer));
    fs.symlinkSync(outside, path.join(dir, 'link.bin'));
    const file = writeWithLocation(dir, 'link.bin');
    await expectHalocError(() => readOnnxModel(file), 'UNSAFE_PATH');
  });

  it('a symlinked folder on the way out: UNSAFE_PATH', async function () {
    const outsideDir = path.join(root ?? '', 'elsewhere');
    fs.mkdirSync(outsideDir);
    fs.writeFileSync(path.join(outsideDir, 'w.bin'), Buffer.from(W1.buffer));
    fs.symlinkSync(outsideDir, path.join(dir, 'linked'));
    const file = writeWithLocation(dir, 'linked/w.bin');
    await expectHalocError(() => readOnnxModel(file), 'UNSAFE_PATH');
  });

  it('a symlink that stays inside the folder, and a model folder reached through a symlink, are fine', function () {
    fs.writeFileSync(path.join(dir, 'real.bin'), Buffer.from(W1.buffer));
    fs.symlinkSync('real.bin', path.join(dir, 'alias.bin'));
    const file = writeWithLocation(dir, 'alias.bin');
    assert.deepEqual(readOnnxModel(file).constants.get('w1')?.toFloat32(), W1);
    const linkedDir = path.join(root ?? '', 'linked-models');
    fs.symlinkSync(dir, linkedDir);
    assert.deepEqual(readOnnxModel(path.join(linkedDir, 'model.onnx')).constants.get('w1')?.toFloat32(), W1);
  });

  it('a location with a NUL byte, or the model folder itself (.): UNSAFE_PATH, with a message saying it is refused', async function () {
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(W1.buffer));
    const nul = await expectHalocError(() => readOnnxModel(writeWithLocation(dir, 'w.bin\0.txt')), 'UNSAFE_PATH');
    assert.match(nul.message, /refused/);
    const self = await expectHalocError(() => readOnnxModel(writeWithLocation(dir, '.')), 'UNSAFE_PATH');
    assert.match(self.message, /leaves the model's folder/);
    await expectHalocError(() => readOnnxModel(writeWithLocation(dir, 'sub/..')), 'UNSAFE_PATH');
  });

  it('../ refused before looking at the file system: the message names the location and says why', async function () {
    const error = await expectHalocError(() => readOnnxModel(writeWithLocation(dir, '../../../../etc/passwd')), 'UNSAFE_PATH');
    assert.match(error.message, /'\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' leaves the model's folder and is refused/);
  });

  it('a chain of symlinks that ends outside the folder: UNSAFE_PATH', async function () {
    const outside = path.join(root ?? '', 'outside.bin');
    fs.writeFileSync(outside, Buffer.from(W1.buffer));
    fs.symlinkSync(outside, path.join(dir, 'hop2.bin'));
    fs.symlinkSync('hop2.bin', path.join(dir, 'hop1.bin'));
    await expectHalocError(() => readOnnxModel(writeWithLocation(dir, 'hop1.bin')), 'UNSAFE_PATH');
  });

  it('a dangling symlink: MISSING_EXTERNAL_DATA (nothing is read)', async function () {
    fs.symlinkSync(path.join(root ?? '', 'not-there.bin'), path.join(dir, 'dangling.bin'));
    await expectHalocError(() => readOnnxModel(writeWithLocation(dir, 'dangling.bin')), 'MISSING_EXTERNAL_DATA');
  });

  it('a location that is a folder: CORRUPT saying so (not a raw EISDIR)', async function () {
    fs.mkdirSync(path.join(dir, 'weights'));
    const error = await expectHalocError(() => readOnnxModel(writeWithLocation(dir, 'weights')), 'CORRUPT');
    assert.match(error.message, /is a folder/);
  });

  it('the data file deleted after the model was read: a typed IO error when the values are read', async function () {
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(W1.buffer));
    const model = readOnnxModel(writeWithLocation(dir, 'w.bin'));
    fs.rmSync(path.join(dir, 'w.bin'));
    const error = await expectHalocError(() => model.constants.get('w1')?.toFloat32(), 'IO');
    assert.match(error.message, /w\.bin/);
  });

  it('a data file in a subfolder of the model folder is fine', function () {
    fs.mkdirSync(path.join(dir, 'weights'));
    fs.writeFileSync(path.join(dir, 'weights', 'w1.bin'), Buffer.concat([Buffer.alloc(0), Buffer.from(W1.buffer)]));
    const file = writeWithLocation(dir, 'weights/w1.bin');
    const model = readOnnxModel(file);
    assert.deepEqual(model.constants.get('w1')?.toFloat32(), W1);
    assert.equal(model.constants.get('w1')?.dataType, DataType.FLOAT);
  });
});
