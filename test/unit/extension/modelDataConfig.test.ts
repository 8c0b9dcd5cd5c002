// The dataset remembered per model in `.haloc.json`: written atomically and read back (paths relative
// to the file's folder), a second model of the same folder with another dataset gets its own entry,
// and a malformed file gives a message naming it and what is wrong.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataConfigPath, rememberData, rememberedData } from '../../../extension/modelDataConfig';
import { makeTempDir, removeDir } from '../testSupport';

describe('extension: the dataset remembered in .haloc.json', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('haloc-data-config-');
  });
  afterEach(() => removeDir(dir));

  it('remembers a model\'s dataset relative to its folder and reads it back', () => {
    const model = path.join(dir, 'a.onnx');
    assert.equal(rememberedData(model), undefined);
    rememberData(model, { path: path.join(dir, 'data', 'val'), preprocessing: { size: [32, 32], mean: [0.5], std: [0.25] } });
    const stored = JSON.parse(fs.readFileSync(dataConfigPath(model), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(stored, { dataset: 'data/val', preprocessing: { size: [32, 32], mean: [0.5], std: [0.25] } });
    assert.deepEqual(rememberedData(model), { path: path.join(dir, 'data', 'val'), preprocessing: { size: [32, 32], mean: [0.5], std: [0.25] } });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.haloc.json'], 'no temporary file is left');
  });

  it('gives a second model of the folder with another dataset its own entry', () => {
    const [a, b] = [path.join(dir, 'a.onnx'), path.join(dir, 'b.onnx')];
    rememberData(a, { path: path.join(dir, 'cifar'), preprocessing: {} });
    rememberData(b, { path: path.join(dir, 'mnist'), preprocessing: { scale: 1 } });
    assert.equal(rememberedData(a)?.path, path.join(dir, 'cifar'));
    assert.equal(rememberedData(b)?.path, path.join(dir, 'mnist'));
    assert.deepEqual(rememberedData(b)?.preprocessing, { scale: 1 });
    rememberData(b, { path: path.join(dir, 'cifar'), preprocessing: {} });
    assert.equal(rememberedData(b)?.path, path.join(dir, 'cifar'));
  });

  it('says which file is malformed and how', () => {
    const model = path.join(dir, 'a.onnx');
    fs.writeFileSync(dataConfigPath(model), '{ not json');
    assert.throws(() => rememberedData(model), /\.haloc\.json is not valid JSON/);
    fs.writeFileSync(dataConfigPath(model), JSON.stringify({ dataset: 'x', preprocessing: { size: 32 } }));
    assert.throws(() => rememberedData(model), /\.haloc\.json: "preprocessing" \.size must be \[height, width\]/);
    fs.writeFileSync(dataConfigPath(model), JSON.stringify({ dataset: 'x', preprocessing: { colour: 'RGB' } }));
    assert.throws(() => rememberedData(model), /unknown field\(s\) colour/);
  });
});
