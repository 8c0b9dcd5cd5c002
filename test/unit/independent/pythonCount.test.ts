// The independent check of the Bar: Python's `onnx` (Debian's python3-onnx) builds real-architecture
// models that are not in ../shared (ResNet-56, a MobileNet-v2 with depthwise and grouped convs, a VGG
// whose weights are Constant nodes, a Gemm/MatMul MLP) and counts their MACs and parameters with its
// own shape inference and formulas (count_macs.py); `haloc analyze --json` must agree: totals within
// 0.1 %, MACs of every layer exactly, grouped / depthwise layers not compressible with a reason.
// The same script also counts the shared models and a model haloc wrote with external data.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType } from '../../../engine/onnx/dataType';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { makeTempDir, removeDir, repoRoot, runHaloc, sharedModel, sharedModelFiles } from '../testSupport';

const python = '/usr/bin/python3';
const script = path.join(repoRoot(), 'test', 'unit', 'independent', 'count_macs.py');

interface PythonLayer {
  readonly name: string;
  readonly op: string;
  readonly macs: number;
  readonly group: number;
  readonly inChannels: number;
}

interface PythonModel {
  readonly file: string;
  readonly name: string;
  readonly totalMacs: number;
  readonly totalParams: number;
  readonly layers: readonly PythonLayer[];
  readonly floatSum?: number;
}

interface HalocLayer {
  readonly name: string;
  readonly op: string;
  readonly macs: number | null;
  readonly params: number;
  readonly compressible: boolean;
  readonly reason: string | null;
}

interface HalocReport {
  readonly totals: { readonly macs: number; readonly params: number; readonly layersWithUnknownMacs: number };
  readonly layers: readonly HalocLayer[];
}

/** Why the Python side cannot run here, or undefined when it can. */
function pythonUnavailable(): string | undefined {
  if (!fs.existsSync(python)) return `${python} not found`;
  const probe = spawnSync(python, ['-c', 'import onnx, numpy, onnx.shape_inference'], { encoding: 'utf8', timeout: 30_000 });
  return probe.status === 0 ? undefined : `Python's onnx module is missing (install Debian's python3-onnx): ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop() ?? ''}`;
}

function runPython(args: readonly string[]): PythonModel[] {
  const result = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  assert.equal(result.status, 0, `count_macs.py ${args[0] ?? ''} failed: ${result.stderr || result.error?.message || ''}`);
  return (JSON.parse(result.stdout) as { models: PythonModel[] }).models;
}

async function halocAnalyze(file: string): Promise<HalocReport> {
  const result = await runHaloc(['analyze', file, '--json']);
  assert.equal(result.code, 0, `haloc analyze ${file}: ${result.stderr}`);
  return JSON.parse(result.stdout) as HalocReport;
}

function assertClose(actual: number, expected: number, what: string): void {
  const relative = Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
  assert.ok(relative <= 0.001, `${what}: haloc ${actual} vs Python ${expected} (${(relative * 100).toFixed(3)} % apart; at most 0.1 % allowed)`);
}

/** Totals within 0.1 %, every layer's MACs exactly, no layer with MACs only on one side. */
function compare(report: HalocReport, counted: PythonModel): void {
  const what = counted.name;
  assertClose(report.totals.macs, counted.totalMacs, `${what} total MACs`);
  assertClose(report.totals.params, counted.totalParams, `${what} total params`);
  assert.equal(report.totals.layersWithUnknownMacs, 0, `${what}: layers with unknown MACs`);
  const halocByName = new Map(report.layers.map((l) => [l.name, l]));
  for (const layer of counted.layers) {
    const mine = halocByName.get(layer.name);
    assert.ok(mine, `${what}: haloc has no layer '${layer.name}' (${layer.op}, ${layer.macs} MACs)`);
    assert.equal(mine.macs, layer.macs, `${what} ${layer.name}: MACs`);
  }
  const pythonNames = new Set(counted.layers.map((l) => l.name));
  for (const layer of report.layers) {
    if ((layer.macs ?? 0) > 0) assert.ok(pythonNames.has(layer.name), `${what}: haloc counts ${layer.macs} MACs for '${layer.name}', Python none`);
  }
}

describe('independent count (Python onnx) agrees with haloc analyze', function () {
  let dir: string | undefined;
  let built: PythonModel[] = [];

  before(function () {
    const reason = pythonUnavailable();
    if (reason) {
      console.log(`    (skipped: ${reason})`);
      this.skip();
    }
    dir = makeTempDir('haloc-independent-');
    built = runPython(['build', dir]);
  });
  after(() => removeDir(dir));

  it('Python built the four models (ResNet-56, MobileNet-v2 grouped, VGG with Constant weights, MLP)', function () {
    assert.deepEqual(built.map((m) => m.name), ['resnet56', 'mobilenet_v2_grouped', 'vgg11_constants', 'mlp_head']);
    for (const model of built) assert.ok(fs.existsSync(model.file), model.file);
  });

  const expectations: Record<string, (report: HalocReport, counted: PythonModel) => void> = {
    resnet56: (report, counted) => {
      // 3 x 9 blocks x 2 convs + conv1 = 55 convs, + the Gemm.
      assert.equal(counted.layers.filter((l) => l.op === 'Conv').length, 55);
      assert.equal(report.layers.filter((l) => l.op === 'Conv' && l.compressible).length, 55);
      assert.ok(report.layers.some((l) => l.op === 'BatchNormalization' && l.params === 64), 'BN layers carry 4 x C params');
    },
    mobilenet_v2_grouped: (report, counted) => {
      const grouped = counted.layers.filter((l) => l.op === 'Conv' && l.group > 1);
      const depthwise = grouped.filter((l) => l.group === l.inChannels);
      assert.equal(depthwise.length, 17, 'one depthwise conv per inverted residual block');
      assert.equal(grouped.length - depthwise.length, 2, 'the grouped 3x3 and the grouped head');
      for (const layer of grouped) {
        const mine = report.layers.find((l) => l.name === layer.name);
        assert.equal(mine?.compressible, false, `${layer.name} must not be compressible`);
        if (layer.group === layer.inChannels) assert.match(mine?.reason ?? '', /depthwise/, layer.name);
        else assert.match(mine?.reason ?? '', new RegExp(`grouped conv \\(group = ${layer.group}\\)`), layer.name);
      }
      const pointwise = report.layers.find((l) => l.name === 'block1.0.expand');
      assert.equal(pointwise?.compressible, true, 'a group-1 1x1 conv is compressible');
    },
    vgg11_constants: (report, counted) => {
      assert.equal(counted.layers.filter((l) => l.op === 'Conv').length, 8);
      const convs = report.layers.filter((l) => l.op === 'Conv');
      assert.equal(convs.length, 8);
      for (const conv of convs) {
        assert.ok(conv.params > 0, `${conv.name}: its Constant-node weights are counted`);
        assert.equal(conv.compressible, true, `${conv.name}: ${conv.reason ?? ''}`);
      }
      const fc1 = report.layers.find((l) => l.name === 'fc1');
      assert.equal(fc1?.params, 512 * 512 + 512, 'a Transpose of a Constant is the Gemm weight');
      assert.equal(fc1?.compressible, true);
    },
    mlp_head: (report) => {
      const fc1 = report.layers.find((l) => l.name === 'mlp.fc1');
      assert.equal(fc1?.macs, 8 * 64 * 256);
      assert.equal(report.layers.find((l) => l.name === 'head.fc1')?.macs, 64 * 128);
      assert.ok(report.layers.filter((l) => l.op === 'Gemm' || l.op === 'MatMul').every((l) => l.compressible));
    },
  };

  for (const [name, extra] of Object.entries(expectations)) {
    it(`${name}: totals within 0.1 %, every layer's MACs equal${name === 'mobilenet_v2_grouped' ? ', grouped/depthwise not compressible with a reason' : ''}`, async function () {
      const counted = built.find((m) => m.name === name);
      assert.ok(counted, `Python did not build ${name}`);
      const report = await halocAnalyze(counted.file);
      compare(report, counted);
      extra(report, counted);
    });
  }

  it('the shared models, counted by Python, agree too', async function () {
    const files = sharedModelFiles().map(sharedModel);
    if (files.length === 0) this.skip();
    for (const counted of runPython(['count', ...files])) compare(await halocAnalyze(counted.file), counted);
  });

  it('a model haloc wrote with external data reads back in Python with the same weights and counts', async function () {
    const source = built.find((m) => m.name === 'resnet56');
    assert.ok(source);
    const original = readOnnxModel(source.file);
    const target = path.join(dir ?? '', 'external', 'resnet56.onnx');
    fs.mkdirSync(path.dirname(target));
    writeOnnxFile(original.proto, target, { externalDataMinBytes: 1024 });
    assert.ok(fs.existsSync(`${target}.data`));
    const [counted] = runPython(['count', target]);
    assert.ok(counted);
    compare(await halocAnalyze(target), counted);
    let sum = 0;
    for (const tensor of original.graph.initializer ?? []) {
      if (tensor.dataType !== DataType.FLOAT) continue;
      for (const value of original.constants.get(tensor.name ?? '')?.toFloat32() ?? []) sum += value;
    }
    assert.ok(Math.abs((counted.floatSum ?? NaN) - sum) < 1e-6 * Math.max(1, Math.abs(sum)) + 1e-3, `weight sums: Python ${counted.floatSum ?? NaN}, haloc ${sum}`);
  });
});
