// The words of the inline rank hints: every figure says measured / predicted / estimated (one kind for
// both when they agree, else one each), labels fit VS Code's 43-character cut, "keep" and layers left
// alone read as such, and the accuracy change is said to be the whole model's.
import * as assert from 'node:assert/strict';
import type { LayerView, ResultPoint } from '../../../engine/search/resultView';
import { accuracyText, layerHint, layerListHint, leaveHint, leaveReason, planEntryHint, rankFiguresLabel, speedupText } from '../../../language/hintText';
import { layerView, resultPoint } from './languageSupport';

describe('language: rank hint text', function () {
  const measured: LayerView = layerView({ name: 'layer1.0.conv1' });
  const estimated: LayerView = layerView({ name: 'layer1.0.conv1', latencyKind: 'estimated' });
  const point: ResultPoint = resultPoint({ 'layer1.0.conv1': 8, 'layer1.0.conv2': 'keep' }, { value: -0.34, kind: 'measured', label: 'measured on held-out data, before fine-tuning' });

  it('formats rank, speed-up and accuracy with their kinds: `rank 8 · 2.0x · -0.3% acc (measured)`', function () {
    // originalMs 1.0, rank 8 -> 0.5 ms: 2.0x
    assert.equal(layerHint(measured, point, 'this-machine').label, 'rank 8 · 2.0x · -0.3% acc (measured)');
    assert.equal(layerHint(estimated, point, 'desktop-gpu').label, 'rank 8 · 2.0x (est.) · -0.3% acc (meas.)');
    const estimatedPoint = resultPoint({ 'layer1.0.conv1': 8 }, { value: -12.34, kind: 'estimated', label: 'agreement' });
    assert.equal(layerHint(estimated, estimatedPoint, 'desktop-gpu').label, 'rank 8 · 2.0x · -12.3% acc (estimated)');
    assert.equal(rankFiguresLabel(measured, 4, estimatedPoint), 'rank 4 · 4.0x (meas.) · -12.3% acc (est.)');
    assert.equal(rankFiguresLabel(estimated, 4, resultPoint({}, { value: null, kind: 'estimated', label: 'none' })), 'rank 4 · 4.0x (estimated) · acc n/a');
    const widest = rankFiguresLabel(layerView({ name: 'w', maxRank: 512, latency: [{ rank: 512, ms: 0.01 }] }), 512, resultPoint({}, { value: -12.34, kind: 'estimated', label: '' }));
    assert.ok(widest.length <= 43, `"${widest}" is ${widest.length} characters: VS Code cuts a line's hints at 43`);
    const tooltip = layerHint(measured, point, 'this-machine').tooltip;
    assert.match(tooltip, /whole model's/);
    assert.match(tooltip, /measured on held-out data, before fine-tuning/);
    assert.match(tooltip, /latency measured on this machine/);
    assert.match(layerHint(estimated, point, 'desktop-gpu').tooltip, /predicted \(from an analytic latency estimate\)/);
  });

  it('says keep, stale and n/a where they apply', function () {
    assert.equal(layerHint(layerView({ name: 'layer1.0.conv2' }), point, 't').label, 'keep');
    assert.match(layerHint(measured, point, 't', true).label, /\(stale\)$/);
    assert.equal(accuracyText(resultPoint({}, { value: null, kind: 'estimated', label: 'nothing' })), 'acc n/a');
    assert.equal(accuracyText(resultPoint({}, { value: 1.25, kind: 'estimated', label: 'x' })), '+1.3% acc (estimated)');
    assert.equal(speedupText(measured, 'keep'), '1.0x (measured)');
  });

  it('marks layers left alone with the reason: analysis first, then the target', function () {
    const notWorth = layerView({ name: 'fc', notWorth: 'no rank is faster on desktop-gpu (or has fewer MACs)' });
    assert.deepEqual(leaveReason(notWorth, { compressible: true, reason: null }), { kind: 'not-worth', reason: 'no rank is faster on desktop-gpu (or has fewer MACs)' });
    assert.deepEqual(leaveReason(undefined, { compressible: false, reason: 'Add has no weight matrix to factorize' }), { kind: 'not-compressible', reason: 'Add has no weight matrix to factorize' });
    assert.equal(leaveReason(measured, { compressible: true, reason: null }), undefined);
    assert.equal(leaveHint({ kind: 'not-worth', reason: "fewer MACs, not faster on embedded-gpu: no rank beats the layer's 0.018 ms" }).label, 'not worth it: not faster on embedded-gpu');
    assert.equal(leaveHint({ kind: 'not-worth', reason: 'no rank is faster on t (or has fewer MACs)' }).tooltip, 'Not worth compressing: no rank is faster on t (or has fewer MACs)');
    assert.equal(leaveHint({ kind: 'not-compressible', reason: 'x' }).tooltip, 'Not compressible: x');
  });

  it('plan entries: the plan rank\'s speed-up and the suggested rank when it differs', function () {
    assert.equal(planEntryHint(measured, 12, point, 't').label, '1.3x (measured) · suggested: rank 8');
    assert.equal(planEntryHint(measured, 8, point, 't').label, '2.0x (measured) · as suggested');
    assert.equal(planEntryHint(measured, 'keep', undefined, 't').label, 'kept');
  });

  it('several matching layers: their settings counted', function () {
    const hint = layerListHint('conv1', 'resnet20.onnx', [{ layer: 'a.conv1', rank: 8 }, { layer: 'b.conv1', rank: 8 }, { layer: 'c.conv1', rank: 'keep' }], point);
    assert.equal(hint.label, '3 layers: rank 8 ×2 · keep ×1');
    assert.match(hint.tooltip, /3 layers of resnet20\.onnx end in 'conv1'/);
    assert.match(hint.tooltip, /c\.conv1: keep/);
    assert.match(hint.tooltip, /-0\.3% acc \(measured\)/);
  });
});
