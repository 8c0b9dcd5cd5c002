// Plan files in the editor: entries are located in the text, each kind of wrong entry gets one problem
// with the fixes that apply, removing an entry keeps valid JSON, and setting a rank makes or updates a
// schema-valid plan.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseRankPlan } from '../../../engine/factorize/rankPlan';
import { planProblems, type PlanCheckContext, type PlanLayerFacts } from '../../../language/planDiagnostics';
import { entryRemovalRange, isPlanPath, modelPathOfPlan, planPathOf, readPlanText, withLayerRank } from '../../../language/planText';
import { layerView } from './languageSupport';

const text = `{
  "model": "resnet20.onnx",
  "source": { "kind": "fast" },
  "ranks": {
    "conv1": 64,
    "layer1.0.conv1": 10,
    "layer1.0.conv2": 16,
    "layer1.1.conv1": "keep",
    "nosuch": 4,
    "Relu_3": 2,
    "layer1.1.conv2": 0,
    "layer1.2.conv1": 8
  }
}`;

const facts = (compressible: boolean, maxRank: number | null, reason: string | null = null): PlanLayerFacts => ({ compressible, maxRank, reason });

const context: PlanCheckContext = {
  layers: new Map([
    ['conv1', facts(true, 16)], ['layer1.0.conv1', facts(true, 16)], ['layer1.0.conv2', facts(true, 16)], ['layer1.1.conv1', facts(true, 16)],
    ['layer1.1.conv2', facts(true, 16)], ['layer1.2.conv1', facts(true, 16)], ['Relu_3', facts(false, null, 'Relu has no weight matrix to factorize')],
  ]),
  modelName: 'resnet20.onnx',
  views: new Map(['conv1', 'layer1.0.conv1', 'layer1.0.conv2', 'layer1.2.conv1'].map((name) => [name, layerView({ name })])),
  target: 'desktop-gpu',
  suggested: { conv1: 8, 'layer1.0.conv1': 12, 'layer1.0.conv2': 'keep', 'layer1.2.conv1': 8 },
};

describe('language: plan files', function () {
  it('locates every entry of ranks and the model field', function () {
    const plan = readPlanText(text);
    assert.ok(plan);
    assert.equal(plan.model, 'resnet20.onnx');
    assert.deepEqual(plan.entries.map((e) => [e.name, e.value]), [['conv1', 64], ['layer1.0.conv1', 10], ['layer1.0.conv2', 16], ['layer1.1.conv1', 'keep'], ['nosuch', 4], ['Relu_3', 2], ['layer1.1.conv2', 0], ['layer1.2.conv1', 8]]);
    for (const e of plan.entries) {
      assert.equal(text.slice(e.keyOffset, e.keyEnd), JSON.stringify(e.name));
      assert.equal(text.slice(e.valueOffset, e.valueEnd), JSON.stringify(e.value));
    }
    assert.equal(text.slice(plan.modelOffset, plan.modelEnd), '"resnet20.onnx"');
    assert.equal(readPlanText('{"ranks": {'), undefined, 'broken JSON');
    assert.equal(readPlanText('[1]'), undefined, 'not an object');
    assert.equal(readPlanText('{"ranks": {"a": 4,}}'), undefined, 'trailing comma');
    assert.equal(readPlanText('{"ranks": {"a": 4} // note\n}'), undefined, 'comment');
    const escaped = '{"ranks": {"x\\"y": "keep", "b": [1, -2.5e3, true, null]}}';
    assert.deepEqual(readPlanText(escaped)?.entries.map((e) => [e.name, e.value, escaped.slice(e.keyOffset, e.keyEnd), escaped.slice(e.valueOffset, e.valueEnd)]),
      [['x"y', 'keep', '"x\\"y"', '"keep"'], ['b', [1, -2500, true, null], '"b"', '[1, -2.5e3, true, null]']]);
  });

  it('one problem per wrong entry, with the suggested rank and "keep" as fixes', function () {
    const plan = readPlanText(text);
    assert.ok(plan);
    const problems = planProblems(plan.entries, context);
    const summary = problems.map((p) => [p.entry.name, p.code, p.severity, p.suggested, p.keepFixes]);
    assert.deepEqual(summary, [
      ['conv1', 'above-max', 'error', 8, true],
      ['layer1.0.conv1', 'off-step', 'warning', 12, true],
      ['layer1.0.conv2', 'slower', 'warning', 'keep', true],
      ['nosuch', 'unknown-layer', 'error', undefined, false],
      ['Relu_3', 'not-compressible', 'error', undefined, true],
      ['layer1.1.conv2', 'not-a-rank', 'error', undefined, true],
    ]);
    const byName = new Map(problems.map((p) => [p.entry.name, p.message]));
    assert.match(byName.get('conv1') ?? '', /rank 64 is above the layer's maximum useful rank 16/);
    assert.match(byName.get('layer1.0.conv1') ?? '', /not a multiple of the rank step 4 on desktop-gpu.*use 8 or 12/);
    assert.match(byName.get('layer1.0.conv2') ?? '', /not faster than the original layer on desktop-gpu \(1\.250 ms against 1\.000 ms, measured\)/);
    assert.match(byName.get('nosuch') ?? '', /no such layer in resnet20\.onnx/);
    assert.match(byName.get('Relu_3') ?? '', /cannot be factorized \(Relu has no weight matrix to factorize\)/);
  });

  it('without an analysis or a result only what can be known is checked', function () {
    const plan = readPlanText(text);
    assert.ok(plan);
    const bare = planProblems(plan.entries, { layers: undefined, modelName: 'm', views: new Map(), target: '', suggested: undefined });
    assert.deepEqual(bare.map((p) => [p.entry.name, p.code]), [['layer1.1.conv2', 'not-a-rank']]);
  });

  it('removing an entry (first, middle, last, only) leaves valid JSON', function () {
    const plan = readPlanText(text);
    assert.ok(plan);
    for (const index of [0, 3, plan.entries.length - 1]) {
      const range = entryRemovalRange(plan.entries, index);
      assert.ok(range);
      const edited = text.slice(0, range.start) + text.slice(range.end);
      const ranks = (JSON.parse(edited) as { ranks: Record<string, unknown> }).ranks;
      assert.equal(Object.keys(ranks).length, plan.entries.length - 1);
      assert.ok(!((plan.entries[index]?.name ?? '') in ranks));
    }
    const only = '{"ranks": {"a": 1}}';
    const onlyPlan = readPlanText(only);
    const range = onlyPlan && entryRemovalRange(onlyPlan.entries, 0);
    assert.ok(range);
    assert.deepEqual(JSON.parse(only.slice(0, range.start) + only.slice(range.end)), { ranks: {} });
  });

  it('setting a rank makes a manual plan, or updates one and says it was edited; both are schema-valid', function () {
    const now = new Date('2026-01-02T03:04:05Z');
    const made = withLayerRank(undefined, 'conv1', 8, 'resnet20.onnx', now);
    assert.deepEqual(made, { model: 'resnet20.onnx', source: { kind: 'manual', description: 'made in the editor', createdAt: now.toISOString(), tool: 'haloc-vscode' }, ranks: { conv1: 8 } });
    const updated = withLayerRank({ model: 'resnet20.onnx', source: { kind: 'fast', description: 'front point 3' }, ranks: { conv1: 4, fc: 'keep' } }, 'conv1', 'keep', 'ignored.onnx', now);
    assert.deepEqual(updated.ranks, { conv1: 'keep', fc: 'keep' });
    assert.equal(updated.model, 'resnet20.onnx');
    assert.equal(updated.source?.kind, 'manual');
    assert.match(updated.source?.description ?? '', /from a 'fast' plan \(front point 3\), then edited in the editor/);
    for (const plan of [made, updated]) assert.doesNotThrow(() => parseRankPlan(JSON.parse(JSON.stringify(plan)), 'test'));
  });

  it('plans and models find each other: the model field, else the file name', function () {
    const dir = path.resolve('/work/models');
    assert.equal(planPathOf(path.join(dir, 'resnet20.onnx')), path.join(dir, 'resnet20.ranks.json'));
    assert.equal(modelPathOfPlan(path.join(dir, 'resnet20.ranks.json'), undefined), path.join(dir, 'resnet20.onnx'));
    assert.equal(modelPathOfPlan(path.join(dir, 'plans', 'a.ranks.json'), '../resnet20.onnx'), path.join(dir, 'resnet20.onnx'));
    assert.ok(isPlanPath('/x/a.ranks.json'));
    assert.ok(!isPlanPath('/x/.ranks.json'));
    assert.ok(!isPlanPath('/x/a.json'));
  });
});
