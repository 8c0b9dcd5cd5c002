// `haloc compress` on every shared model with compressible layers: at full rank (--uniform 1) the
// rewrite's outputs equal the original's (relative difference < 1e-4, in the report and measured here
// in onnxruntime-node at another batch size); at --uniform 0.5 the written model loads and runs, and its
// MACs, counted by analyzeModel on the written file, equal the Tucker-2 / SVD formulas and the report.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { makeTempDir, removeDir, sharedModel, skipSuiteWithoutSharedModels } from '../testSupport';
import { assertRuns, checkMacsAgainstFormula, compressJson, measuredDifference } from './factorizeSupport';

const models = ['resnet20-cifar10.onnx', 'resnet20-cifar10-unfused-bn.onnx', 'resnet32-cifar10.onnx', 'mnist-8.onnx'];

describe('factorize: haloc compress on the shared models', function () {
  let dir: string | undefined;
  before(function () {
    skipSuiteWithoutSharedModels(this);
    dir = makeTempDir('haloc-factorize-shared-');
  });
  after(() => removeDir(dir));

  for (const file of models) {
    const stem = path.basename(file, '.onnx');
    it(`${stem}: --uniform 1 (full rank) differs from the original by < 1e-4 relative (report and measured)`, async function () {
      const output = path.join(dir ?? '', `${stem}.u100.onnx`);
      const report = await compressJson([sharedModel(file), '--uniform', '1', '-o', output]);
      assert.ok(report.totals.factorizedLayers > 0, 'no layer was factorized');
      assert.equal(report.output, output);
      assert.ok(report.outputDiff.rel < 1e-4, `report.outputDiff.rel = ${report.outputDiff.rel}`);
      for (const layer of report.layers) assert.ok((layer.weightError ?? 0) < 1e-5, `${layer.name}: weight error at full rank ${layer.weightError ?? ''}`);
      const batch = file.startsWith('mnist') ? 1 : 3;
      const measured = await measuredDifference(sharedModel(file), output, batch);
      assert.ok(measured < 1e-4, `measured relative difference at batch ${batch}: ${measured}`);
    });

    it(`${stem}: --uniform 0.5 loads and runs in onnxruntime-node; its MACs (analyzeModel of the written file) equal the formula and the report`, async function () {
      const output = path.join(dir ?? '', `${stem}.u50.onnx`);
      const report = await compressJson([sharedModel(file), '--uniform', '0.5', '-o', output]);
      const { layers } = await checkMacsAgainstFormula(sharedModel(file), report, 0.5);
      assert.ok(layers > 0);
      assert.ok(report.totals.macsAfter < report.totals.macsBefore, 'half rank saves MACs');
      await assertRuns(sharedModel(file), output, file.startsWith('mnist') ? 1 : 4);
    });
  }
});
