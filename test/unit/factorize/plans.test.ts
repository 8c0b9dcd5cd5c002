// Rank plans through `haloc compress`: a schema-valid plan with "keep" and ranks is applied as
// written; an invalid plan is rejected with exit code 1 and one stderr line that names every wrong
// entry (unknown layer, rank above the maximum, 0, 2.5, a string other than "keep", a rank for a
// layer that cannot be factorized), writing nothing; --energy 0.9 picks per layer the smallest rank
// whose kept energy (1 - error^2 from errorByRank) is >= 0.9, and --energy 1 stays within the max rank.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { layerBasis } from '../../../engine/factorize/layerBasis';
import { rankPlanSchema } from '../../../engine/factorize/rankPlanSchema';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { makeTempDir, randomFloats, removeDir, runHaloc, sharedModel, skipSuiteWithoutSharedModels } from '../testSupport';
import { assertFolderHolds, assertRuns, compressJson, handMacs, handShape, writeModel } from './factorizeSupport';

const model = (): string => sharedModel('resnet20-cifar10-unfused-bn.onnx');

describe('factorize: rank plans and --energy through haloc compress', function () {
  let dir = '';
  before(function () {
    skipSuiteWithoutSharedModels(this);
    dir = makeTempDir('haloc-factorize-plans-');
  });
  after(() => removeDir(dir));

  it('a valid plan (schema-checked here) with "keep" and ranks is applied as written; unlisted layers are kept', async function () {
    const plan = {
      model: 'resnet20-cifar10-unfused-bn.onnx',
      source: { kind: 'manual', description: 'test plan' },
      ranks: { conv1: 'keep', 'layer1.0.conv1': 8, 'layer2.1.conv2': 1, 'layer3.2.conv2': 64, bn1: 'keep', 'Gemm#72': 5 },
    };
    const validate = new Ajv({ allErrors: true, strict: false }).compile(rankPlanSchema);
    assert.ok(validate(plan), `the test plan must be schema-valid: ${JSON.stringify(validate.errors)}`);
    const planFile = path.join(dir, 'resnet20.ranks.json');
    fs.writeFileSync(planFile, JSON.stringify(plan));
    const output = path.join(dir, 'planned.onnx');
    const report = await compressJson([model(), '--plan', planFile, '-o', output]);
    const ranks = Object.fromEntries(report.layers.map((l) => [l.name, l.rank]));
    assert.equal(ranks.conv1, 'keep');
    assert.equal(ranks['layer1.0.conv1'], 8);
    assert.equal(ranks['layer2.1.conv2'], 1);
    assert.equal(ranks['layer3.2.conv2'], 64);
    assert.equal(ranks['Gemm#72'], 5);
    assert.equal(ranks['layer1.0.conv2'], 'keep', 'a compressible layer the plan does not list is kept');
    assert.equal(report.totals.factorizedLayers, 4);
    assert.deepEqual(report.plan.ranks, ranks);
    // MACs: the original minus the formula's savings for the four factorized layers.
    const original = readOnnxModel(model());
    const analysis = await analyzeModel(original);
    let expected = analysis.totals.macs;
    for (const layer of analysis.layers.filter((l) => typeof ranks[l.name] === 'number')) {
      const shape = handShape(layer, original.graph.node?.[layer.nodeIndex] ?? {});
      expected += handMacs(shape, ranks[layer.name] as number) - (layer.macs ?? 0);
    }
    assert.equal((await analyzeModel(readOnnxModel(output))).totals.macs, expected, 'MACs of the written file');
    assert.equal(report.totals.macsAfter, expected, 'report.totals.macsAfter');
    await assertRuns(model(), output, 2);
  });

  it('an invalid plan: exit code 1, one stderr line naming each of the six wrong entries, nothing written', async function () {
    const planDir = path.join(dir, 'invalid');
    fs.mkdirSync(planDir);
    const planFile = path.join(planDir, 'bad.ranks.json');
    const wrong: Record<string, unknown> = {
      'no.such.layer': 4, // unknown layer
      'layer1.0.conv1': 17, // above the maximum (16)
      'layer1.0.conv2': 0, // rank 0
      'layer1.1.conv1': 2.5, // not an integer
      'layer1.1.conv2': 'half', // a string other than "keep"
      bn1: 4, // not compressible
    };
    fs.writeFileSync(planFile, JSON.stringify({ ranks: { conv1: 'keep', 'layer2.0.conv1': 8, ...wrong } }));
    const output = path.join(planDir, 'out.onnx');
    const result = await runHaloc(['compress', model(), '--plan', planFile, '-o', output]);
    assert.equal(result.code, 1, `exit code (stderr: ${result.stderr})`);
    assert.equal(result.stdout, '');
    const lines = result.stderr.split('\n').filter((l) => l.trim());
    assert.equal(lines.length, 1, `one line: ${result.stderr}`);
    const line = lines[0] ?? '';
    const missing = Object.keys(wrong).filter((name) => !line.includes(`'${name}'`) && !line.includes(`/ranks/${name}`));
    assert.deepEqual(missing, [], `the message must name every wrong entry: ${line}`);
    for (const fine of ['conv1', 'layer2.0.conv1']) assert.ok(!line.includes(`'${fine}'`), `a correct entry is not blamed: ${line}`);
    assert.match(line, /above the maximum|maximum/, 'says the rank is above the maximum');
    assert.match(line, /no such layer/);
    assertFolderHolds(planDir, ['bad.ranks.json'], 'after the rejected plan');
  });

  it('a plan that is not valid JSON or has no "ranks" object: exit code 1, one line', async function () {
    for (const [name, text] of [['broken.json', '{"ranks": {'], ['noranks.json', '{"model": "x"}'], ['ranksarray.json', '{"ranks": [1, 2]}']] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const result = await runHaloc(['compress', model(), '--plan', file, '-o', path.join(dir, 'never.onnx')]);
      assert.equal(result.code, 1, `${name}: ${result.stderr}`);
      assert.equal(result.stderr.split('\n').filter((l) => l.trim()).length, 1, `${name}: ${result.stderr}`);
      assert.ok(result.stderr.includes(file), `${name}: the message names the plan file`);
      assert.ok(!fs.existsSync(path.join(dir, 'never.onnx')));
    }
  });

  it('--energy 0.9 picks for each layer the smallest rank whose kept energy >= 0.9 (against errorByRank)', async function () {
    const output = path.join(dir, 'energy.onnx');
    const report = await compressJson([model(), '--energy', '0.9', '-o', output]);
    const original = readOnnxModel(model());
    const analysis = await analyzeModel(original);
    const compressible = analysis.layers.filter((l) => l.compressible);
    assert.equal(report.layers.length, compressible.length);
    let below = 0;
    for (const layer of compressible) {
      const { errorByRank } = await layerBasis(original, layer);
      const kept = (r: number): number => 1 - (errorByRank[r - 1] ?? 0) ** 2;
      let expected = 1;
      while (kept(expected) < 0.9) expected++;
      const reported = report.layers.find((l) => l.name === layer.name);
      assert.equal(reported?.rank, expected, `${layer.name}: kept energy by rank ${[...errorByRank].slice(0, expected + 1).map((e) => (1 - e * e).toFixed(4)).join(' ')}`);
      assert.ok(expected === 1 || kept(expected - 1) < 0.9);
      assert.ok(expected <= (layer.maxRank ?? 0));
      assert.ok(Math.abs((reported?.weightError ?? NaN) - (errorByRank[expected - 1] ?? 0)) < 1e-12, `${layer.name}: weightError in the report`);
      if (expected < (layer.maxRank ?? 0)) below++;
    }
    assert.ok(below > 0, 'at 0.9 some layer gets less than its maximum rank');
    await assertRuns(model(), output, 2);
  });

  it('--energy 1 keeps every rank within the max rank, also for a conv whose max rank (18) is below its channel count (64 -> 2, 3x3)', async function () {
    const b = new GraphBuilder({ name: 'narrow' });
    b.input('x', ['N', 64, 8, 8]);
    b.initializer(float32Tensor('w', [2, 64, 3, 3], randomFloats(2 * 64 * 9, 3)));
    b.node('Conv', ['x', 'w'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'narrow', outputs: ['y'] });
    b.output('y', ['N', 2, 8, 8]);
    const file = writeModel(b.build(), dir, 'narrow.onnx');
    const report = await compressJson([file, '--energy', '1', '-o', path.join(dir, 'narrow.e100.onnx')]);
    const [layer] = report.layers;
    assert.equal(layer?.maxRank, 18);
    assert.ok(typeof layer.rank === 'number' && layer.rank <= 18, `rank ${String(layer.rank)} at --energy 1 (max rank 18)`);
    assert.ok(report.outputDiff.rel < 1e-4, `rel ${report.outputDiff.rel}`);
  });
});
