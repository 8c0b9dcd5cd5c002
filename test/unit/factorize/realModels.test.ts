// Issue 3's Bar on real architectures that are not in ../shared: a CIFAR ResNet-56 (unfused BN,
// option-A shortcuts) and a Gemm / MatMul MLP, built here with the engine's GraphBuilder and, where
// Debian's python3-onnx is installed, also by Python's `onnx` (test/unit/independent/count_macs.py:
// ResNet-56, the MLP head, a VGG-11 whose weights are Constant nodes and a Transpose of a Constant, a
// MobileNet-v2 with depthwise and grouped convs). Full-rank rewrite: < 1e-4 relative (report and
// measured here); 50 %-rank rewrite: loads and runs in onnxruntime-node, MACs equal the formula.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compressModel } from '../../../engine/factorize/compressModel';
import { makeTempDir, removeDir, repoRoot } from '../testSupport';
import { assertRuns, checkMacsAgainstFormula, cifarResNet, measuredDifference, mlpModel, writeModel } from './factorizeSupport';

const python = '/usr/bin/python3';
const script = path.join(repoRoot(), 'test', 'unit', 'independent', 'count_macs.py');

function pythonUnavailable(): string | undefined {
  if (!fs.existsSync(python)) return `${python} not found`;
  const probe = spawnSync(python, ['-c', 'import onnx, numpy'], { encoding: 'utf8', timeout: 30_000 });
  return probe.status === 0 ? undefined : "Python's onnx module is missing (install Debian's python3-onnx)";
}

/** Full rank equal (< 1e-4) and half rank by formula, for one model file. */
async function checkBar(file: string, dir: string, stem: string, fullRank: boolean): Promise<void> {
  if (fullRank) {
    const full = await compressModel(file, { choice: { kind: 'uniform', fraction: 1 }, outputPath: path.join(dir, `${stem}.u100.onnx`) });
    assert.ok(full.outputDiff.rel < 1e-4, `${stem}: report rel ${full.outputDiff.rel}`);
    const measured = await measuredDifference(file, full.output, 2);
    assert.ok(measured < 1e-4, `${stem}: measured rel ${measured}`);
  }
  const half = await compressModel(file, { choice: { kind: 'uniform', fraction: 0.5 }, outputPath: path.join(dir, `${stem}.u50.onnx`) });
  await assertRuns(file, half.output, 2);
  await checkMacsAgainstFormula(file, half, 0.5);
  assert.ok(half.totals.macsAfter < half.totals.macsBefore);
}

describe("factorize: issue 3's Bar on real models not in ../shared", function () {
  let dir = '';
  before(() => (dir = makeTempDir('haloc-factorize-real-')));
  after(() => removeDir(dir));

  it('ResNet-56 (GraphBuilder; 55 convs + Gemm, symbolic batch): full rank < 1e-4; 50 % rank runs, MACs = formula', async function () {
    await checkBar(writeModel(cifarResNet(9), dir, 'resnet56.onnx'), dir, 'resnet56', true);
  });

  it('MLP (GraphBuilder; batched MatMuls, Gemms with transB / alpha / beta / no bias): full rank < 1e-4; 50 % rank runs, MACs = formula', async function () {
    await checkBar(writeModel(mlpModel(), dir, 'mlp.onnx'), dir, 'mlp', true);
  });

  describe('models built by Python onnx (count_macs.py build)', function () {
    const pyDir = (): string => path.join(dir, 'python');
    before(function () {
      const reason = pythonUnavailable();
      if (reason) {
        console.log(`    (skipped: ${reason})`);
        this.skip();
      }
      fs.mkdirSync(pyDir());
      const result = spawnSync(python, [script, 'build', pyDir()], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
      assert.equal(result.status, 0, `count_macs.py build: ${result.stderr}`);
    });

    it('resnet56: full rank < 1e-4; 50 % rank runs, MACs = formula', async function () {
      await checkBar(path.join(pyDir(), 'resnet56.onnx'), pyDir(), 'resnet56', true);
    });
    it('mlp_head: full rank < 1e-4; 50 % rank runs, MACs = formula', async function () {
      await checkBar(path.join(pyDir(), 'mlp_head.onnx'), pyDir(), 'mlp_head', true);
    });
    it('vgg11_constants (weights in Constant nodes, a Transpose of a Constant): 50 % rank runs, MACs = formula, the dead weight producers removed', async function () {
      await checkBar(path.join(pyDir(), 'vgg11_constants.onnx'), pyDir(), 'vgg11', false);
      const { readOnnxModel } = await import('../../../engine/onnx/onnxModel');
      const written = readOnnxModel(path.join(pyDir(), 'vgg11.u50.onnx')).graph;
      const consumed = new Set([...(written.node ?? []).flatMap((n) => n.input ?? []), ...(written.output ?? []).map((o) => o.name)]);
      const dead = (written.node ?? []).filter((n) => (n.output ?? []).every((o) => !consumed.has(o)));
      assert.deepEqual(dead.map((n) => n.name), [], 'nodes whose outputs nothing uses');
    });
    it('mobilenet_v2_grouped (depthwise / grouped convs stay): 50 % rank runs, MACs = formula', async function () {
      await checkBar(path.join(pyDir(), 'mobilenet_v2_grouped.onnx'), pyDir(), 'mobilenet', false);
    });
  });
});
