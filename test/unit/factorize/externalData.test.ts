// A model whose weights live in an external data file (written with writeOnnxFile's
// externalDataMinBytes): compress works from another working folder, the written model and its data
// are readable (by haloc and by onnxruntime-node from the file), and the input model and its data file
// are byte-for-byte unchanged, also after an attempt to write the output over the input.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compressModel } from '../../../engine/factorize/compressModel';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { onnx } from '../../../engine/onnx/proto';
import { expectHalocError, makeTempDir, removeDir } from '../testSupport';
import { assertFolderHolds, assertRuns, checkMacsAgainstFormula, cifarResNet, measuredDifference, sha256, writeModel } from './factorizeSupport';

function externalTensors(file: string): string[] {
  return (readOnnxModel(file).graph.initializer ?? []).filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL).map((t) => t.name ?? '');
}

describe('factorize: a model with external data', function () {
  let dir = '';
  let input = '';
  let checksums: [string, string][] = [];
  const inputFiles = (): string[] => [input, `${input}.data`];

  before(function () {
    dir = makeTempDir('haloc-factorize-external-');
    fs.mkdirSync(path.join(dir, 'in'));
    // 100 bytes: the conv and fc weights and the BatchNormalization parameters of 32 and 64 channels are
    // external, so the rewritten model keeps external tensors (untouched BN) next to new inline factors;
    // the 8-value int64 Pad amounts stay inline (onnxruntime needs them for shape inference).
    input = writeModel(cifarResNet(1), path.join(dir, 'in'), 'resnet8.onnx', 100);
    assert.ok(externalTensors(input).length >= 8 + 4 * 4, 'the weights and BN parameters are external');
    checksums = inputFiles().map((f) => [f, sha256(f)]);
  });
  after(() => removeDir(dir));

  function assertInputUnchanged(after: string): void {
    for (const [file, sum] of checksums) assert.equal(sha256(file), sum, `${path.basename(file)} changed after ${after}`);
  }

  it('compress --uniform 1 into another folder (working folder elsewhere): the output and its data are readable and equal the original (< 1e-4)', async function () {
    fs.mkdirSync(path.join(dir, 'out'));
    const output = path.join(dir, 'out', 'resnet8.u100.onnx');
    const report = await compressModel(input, { choice: { kind: 'uniform', fraction: 1 }, outputPath: output });
    assert.ok(report.outputDiff.rel < 1e-4, `report rel ${report.outputDiff.rel}`);
    assert.ok(fs.existsSync(`${output}.data`), 'the output has its own data file');
    assert.ok(externalTensors(output).length >= 4 * 4, 'the untouched BN parameters stay external');
    const written = readOnnxModel(output); // reads the external data too
    assert.ok((await analyzeModel(written)).totals.macs > 0);
    for (const name of externalTensors(output)) assert.ok(written.constants.get(name)?.toFloat32().length, `external tensor ${name} of the output is readable`);
    const measured = await measuredDifference(input, output, 2);
    assert.ok(measured < 1e-4, `measured rel ${measured}`);
    assertInputUnchanged('compress --uniform 1');
  });

  it('compress --uniform 0.5 next to the input (default name): loads, runs, MACs = formula; the input and its data file unchanged', async function () {
    const report = await compressModel(input, { choice: { kind: 'uniform', fraction: 0.5 } });
    assert.equal(report.output, path.join(dir, 'in', 'resnet8.u50.onnx'));
    await assertRuns(input, report.output, 2);
    await checkMacsAgainstFormula(input, report, 0.5);
    assertFolderHolds(path.join(dir, 'in'), ['resnet8.onnx', 'resnet8.onnx.data', 'resnet8.u50.onnx', 'resnet8.u50.onnx.data'], 'after compress next to the input');
    assertInputUnchanged('compress --uniform 0.5');
  });

  it('an output path equal to the input is refused; the input model and its data file are unchanged, no file added', async function () {
    const before = fs.readdirSync(path.join(dir, 'in'));
    const error = await expectHalocError(() => compressModel(input, { choice: { kind: 'uniform', fraction: 0.5 }, outputPath: input }), 'BAD_ARGUMENT', 'compress -o <input>');
    assert.match(error.message, /input/);
    assertInputUnchanged('compress -o <input>');
    assertFolderHolds(path.join(dir, 'in'), before, 'after the refused write');
  });
});
