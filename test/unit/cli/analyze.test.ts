// `haloc analyze`: the JSON report (model / totals / layers with the fields the issue names), the
// table, exit code 1 with one stderr line naming the file for bad files, exit code 2 for bad usage.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { makeTempDir, randomFloats, removeDir, runHaloc, sharedModel, skipSuiteWithoutSharedModels } from '../testSupport';

const layerFields = ['name', 'op', 'inputShape', 'outputShape', 'weightShape', 'macs', 'params', 'compressible', 'reason'];

interface JsonLayer {
  readonly name: string;
  readonly op: string;
  readonly inputShape: (number | string)[] | null;
  readonly outputShape: (number | string)[] | null;
  readonly weightShape: number[] | null;
  readonly macs: number | null;
  readonly params: number;
  readonly compressible: boolean;
  readonly reason: string | null;
  readonly note: string | null;
}

interface JsonReport {
  readonly model: { readonly name: string; readonly batch: number; readonly shapeInference: string; readonly notes: string[] };
  readonly totals: { readonly macs: number; readonly params: number; readonly layersWithUnknownMacs: number };
  readonly layers: JsonLayer[];
}

async function analyzeJson(argv: readonly string[]): Promise<JsonReport> {
  const result = await runHaloc(['analyze', ...argv, '--json']);
  assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
  assert.equal(result.stderr, '');
  return JSON.parse(result.stdout) as JsonReport;
}

/** A bad-file run: exit 1, exactly one stderr line that names the file, nothing on stdout. */
async function expectBadFile(file: string, problem?: RegExp): Promise<string> {
  const result = await runHaloc(['analyze', file, '--json']);
  assert.equal(result.code, 1, `exit code for ${file} (stderr: ${result.stderr})`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one stderr line, got: ${result.stderr}`);
  assert.ok(lines[0]?.includes(file), `the line names the file ${file}: ${lines[0] ?? ''}`);
  if (problem) assert.match(lines[0] ?? '', problem);
  return lines[0] ?? '';
}

describe('haloc analyze on shared models', function () {
  before(function () {
    skipSuiteWithoutSharedModels(this);
  });

  it('--json on ResNet-20: exit 0, model / totals / layers with every named field', async function () {
    const report = await analyzeJson([sharedModel('resnet20-cifar10.onnx')]);
    assert.deepEqual(Object.keys(report).sort(), ['layers', 'model', 'totals']);
    assert.equal(report.model.name, 'resnet20-cifar10.onnx');
    assert.equal(report.totals.macs, 40_551_040);
    assert.equal(report.totals.params, 269_034);
    assert.equal(report.layers.length, 20);
    for (const layer of report.layers) {
      for (const field of layerFields) assert.ok(field in layer, `layer ${layer.name} lacks '${field}'`);
      assert.equal(layer.compressible ? layer.reason : 'x', layer.compressible ? null : 'x');
    }
    const conv1 = report.layers.find((l) => l.name === 'conv1');
    assert.deepEqual(conv1, { ...conv1, op: 'Conv', inputShape: [1, 3, 32, 32], outputShape: [1, 16, 32, 32], weightShape: [16, 3, 3, 3], macs: 442_368, params: 448, compressible: true, reason: null });
    assert.equal(report.layers.reduce((s, l) => s + (l.macs ?? 0), 0), report.totals.macs);
    assert.equal(report.layers.reduce((s, l) => s + l.params, 0), report.totals.params);
    assert.ok(!('lowRankShape' in (report.layers[0] ?? {})), 'internal fields are left out');
  });

  it('--batch 4 scales MACs by 4', async function () {
    const report = await analyzeJson([sharedModel('resnet20-cifar10.onnx'), '--batch', '4']);
    assert.equal(report.totals.macs, 4 * 40_551_040);
    assert.equal(report.totals.params, 269_034);
    assert.equal(report.model.batch, 4);
    assert.deepEqual(report.layers.find((l) => l.name === 'conv1')?.inputShape, [4, 3, 32, 32]);
  });

  it('--input-shape overrides an input shape', async function () {
    const report = await analyzeJson([sharedModel('resnet20-cifar10.onnx'), '--input-shape', 'input=1,3,64,64']);
    assert.equal(report.layers.find((l) => l.name === 'conv1')?.macs, 4 * 442_368);
  });

  it('mnist-8 --json: the non-compressible Adds say why', async function () {
    const report = await analyzeJson([sharedModel('mnist-8.onnx')]);
    assert.equal(report.totals.macs, 786_560);
    const add = report.layers.find((l) => l.name === 'Plus30');
    assert.equal(add?.compressible, false);
    assert.match(add?.reason ?? '', /no weight matrix/);
  });

  it('without --json: a table with a header row, every layer, and the totals line', async function () {
    const result = await runHaloc(['analyze', sharedModel('resnet20-cifar10.onnx')]);
    assert.equal(result.code, 0);
    const lines = result.stdout.split('\n');
    assert.ok(lines.some((l) => /^layer\s+op\s+input\s+output\s+weight\s+MACs\s+params\s+compressible/.test(l)), 'header row');
    assert.ok(lines.some((l) => l.startsWith('conv1 ') && l.includes('[1, 3, 32, 32]') && l.includes('442.37k')), 'conv1 row');
    assert.ok(lines.some((l) => l.startsWith('total: 40.55M MACs')), 'totals line');
  });
});

describe('haloc analyze on built models', function () {
  let dir: string | undefined;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  it('an unknown op is listed with macs null, never 0, and the model says static+runtime', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 8, 4, 4]);
    builder.initializer(float32Tensor('w', [4, 2, 3, 3], randomFloats(72)));
    builder.node('DepthToSpace', ['x'], { blocksize: 2 }, { name: 'd2s', outputs: ['d'] });
    builder.node('Conv', ['d', 'w'], { pads: [1, 1, 1, 1] }, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    const file = path.join(dir ?? '', 'unknown.onnx');
    writeOnnxFile(builder.build(), file);
    const report = await analyzeJson([file]);
    assert.equal(report.model.shapeInference, 'static+runtime');
    assert.equal(report.layers.find((l) => l.name === 'd2s')?.macs, null);
    assert.equal(report.layers.find((l) => l.name === 'conv')?.macs, 4 * 64 * 18);
    assert.equal(report.totals.layersWithUnknownMacs, 1);
    const table = await runHaloc(['analyze', file]);
    assert.match(table.stdout, /d2s\s+DepthToSpace.*\s\?\s/);
    assert.match(table.stdout, /\(\+ 1 layer\(s\) with unknown MACs\)/);
  });

  it('a symbolic H without --input-shape: the layer note says so; with it the MACs resolve', async function () {
    const builder = new GraphBuilder();
    builder.input('x', ['N', 3, 'H', 16]);
    builder.initializer(float32Tensor('w', [4, 3, 3, 3], randomFloats(108)));
    builder.node('Conv', ['x', 'w'], {}, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    const file = path.join(dir ?? '', 'symbolic.onnx');
    writeOnnxFile(builder.build(), file);
    const unresolved = await analyzeJson([file]);
    const conv = unresolved.layers.find((l) => l.name === 'conv');
    assert.equal(conv?.macs, null);
    assert.match(conv?.note ?? '', /'H'.*--input-shape/);
    const resolved = await analyzeJson([file, '--input-shape', 'x=1,3,10,16']);
    assert.equal(resolved.layers.find((l) => l.name === 'conv')?.macs, 4 * 8 * 14 * 27);
  });

  it('a Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain needs no runtime', async function () {
    const builder = new GraphBuilder();
    builder.input('x', ['N', 4, 2, 2]);
    builder.initializer(int64Tensor('zero', [], [0]));
    builder.initializer(int64Tensor('axes', [1], [0]));
    builder.initializer(int64Tensor('rest', [1], [-1]));
    builder.initializer(float32Tensor('w', [16, 3], randomFloats(48)));
    builder.node('Shape', ['x'], {}, { outputs: ['s'] });
    builder.node('Gather', ['s', 'zero'], {}, { outputs: ['n'] });
    builder.node('Unsqueeze', ['n', 'axes'], {}, { outputs: ['n1'] });
    builder.node('Concat', ['n1', 'rest'], { axis: 0 }, { outputs: ['target'] });
    builder.node('Reshape', ['x', 'target'], {}, { outputs: ['flat'] });
    builder.node('MatMul', ['flat', 'w'], {}, { name: 'fc', outputs: ['y'] });
    builder.output('y');
    const file = path.join(dir ?? '', 'chain.onnx');
    writeOnnxFile(builder.build(), file);
    const report = await analyzeJson([file, '--batch', '3']);
    assert.equal(report.model.shapeInference, 'static');
    assert.deepEqual(report.layers.find((l) => l.name === 'fc')?.inputShape, [3, 16]);
    assert.equal(report.totals.macs, 3 * 16 * 3);
  });
});

describe('haloc analyze: bad files exit 1 with one line naming the file', function () {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  it('a missing file', async function () {
    await expectBadFile(path.join(dir, 'absent.onnx'), /no such file/);
  });

  it('a text file', async function () {
    const file = path.join(dir, 'notes.onnx');
    fs.writeFileSync(file, 'hello, this is text\nwith two lines\n');
    await expectBadFile(file);
  });

  it('an empty file', async function () {
    const file = path.join(dir, 'empty.onnx');
    fs.writeFileSync(file, '');
    await expectBadFile(file, /empty/);
  });

  it('a truncated ResNet-20', async function () {
    skipSuiteWithoutSharedModels(this);
    const bytes = fs.readFileSync(sharedModel('resnet20-cifar10.onnx'));
    const file = path.join(dir, 'cut.onnx');
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectBadFile(file, /truncated/);
  });

  it('a missing external data file', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 64]);
    builder.initializer(float32Tensor('w', [64, 64], randomFloats(4096)));
    builder.node('MatMul', ['x', 'w'], {}, { outputs: ['y'] });
    builder.output('y');
    const file = path.join(dir, 'ext.onnx');
    writeOnnxFile(builder.build(), file, { externalDataMinBytes: 1024 });
    fs.rmSync(`${file}.data`);
    await expectBadFile(file, /ext\.onnx\.data.*missing/);
  });

  it('a graph with a cycle, and a node using a missing tensor', async function () {
    const cyclic = new GraphBuilder();
    cyclic.input('x', [1, 4]);
    cyclic.node('Add', ['x', 'b'], {}, { name: 'first', outputs: ['a'] });
    cyclic.node('Relu', ['a'], {}, { name: 'second', outputs: ['b'] });
    cyclic.output('b');
    const cycleFile = path.join(dir, 'cycle.onnx');
    writeOnnxFile(cyclic.build(), cycleFile);
    await expectBadFile(cycleFile, /cycle/);
    const missing = new GraphBuilder();
    missing.input('x', [1, 4]);
    missing.node('Add', ['x', 'ghost'], {}, { name: 'adder', outputs: ['y'] });
    missing.output('y');
    const missingFile = path.join(dir, 'missing.onnx');
    writeOnnxFile(missing.build(), missingFile);
    await expectBadFile(missingFile, /ghost/);
  });
});

describe('haloc: bad usage exits 2', function () {
  // Options are wrong but the model file exists, so only the usage can be at fault.
  let dir: string | undefined;
  let file = '';
  before(() => {
    dir = makeTempDir();
    file = path.join(dir, 'ok.onnx');
    const builder = new GraphBuilder();
    builder.input('x', [1, 4]);
    builder.node('Relu', ['x'], {}, { outputs: ['y'] });
    builder.output('y');
    writeOnnxFile(builder.build(), file);
  });
  after(() => removeDir(dir));
  const cases: Record<string, (file: string) => readonly string[]> = {
    'no command': () => [],
    'an unknown command': () => ['frobnicate'],
    'analyze without a file': () => ['analyze'],
    'analyze with two files': (f) => ['analyze', f, f],
    'an unknown option': (f) => ['analyze', f, '--bogus'],
    '--batch 0': (f) => ['analyze', f, '--batch', '0'],
    '--batch not a number': (f) => ['analyze', f, '--batch', 'four'],
    '--batch without a value': (f) => ['analyze', f, '--batch'],
    '--input-shape without dims': (f) => ['analyze', f, '--input-shape', 'x'],
    '--input-shape with a negative dim': (f) => ['analyze', f, '--input-shape', 'x=1,-3'],
  };
  for (const [title, argv] of Object.entries(cases)) {
    it(title, async function () {
      const result = await runHaloc(argv(file));
      assert.equal(result.code, 2, `exit code (stderr: ${result.stderr}, stdout: ${result.stdout.slice(0, 200)})`);
      assert.match(`${result.stderr}${result.stdout}`, /usage/);
    });
  }

  it('--help prints the usage and exits 0', async function () {
    const result = await runHaloc(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /haloc analyze <model\.onnx>/);
  });
});
