// The layer hover: an ECharts SVG chart of the latency steps (with the original's latency and the shown
// rank marked) and the spectrum, embedded as a base64 data: URI, rendered once per layer and rank;
// the steps as a table with their kind; the selected point's figures with their kinds.
import * as assert from 'node:assert/strict';
import { layerChartSvg, svgDataUri } from '../../../language/layerChart';
import { layerHoverMarkdown, stepsTable } from '../../../language/layerHover';
import { layerView, resultPoint } from './languageSupport';

describe('language: layer hover', function () {
  const view = layerView({ name: 'layer1.0.conv1', latencyKind: 'estimated' });
  const point = resultPoint({ 'layer1.0.conv1': 8 }, { value: -0.5, kind: 'estimated', label: 'estimated from the top-1 agreement' });

  it('renders the chart as SVG with the original latency and the rank marked, once per layer and rank', async function () {
    const svg = await layerChartSvg(view, 8, 'test-result');
    assert.match(svg, /^<svg[\s\S]*<\/svg>$/);
    assert.match(svg, /original 1\.000 ms/);
    assert.match(svg, /rank 8/);
    assert.match(svg, /latency \(estimated\)/);
    assert.match(svg, /spectrum: rel\. error/);
    const started = performance.now();
    assert.equal(await layerChartSvg(view, 8, 'test-result'), svg);
    assert.ok(performance.now() - started < 5, 'the second hover renders nothing');
    assert.notEqual(await layerChartSvg(view, 12, 'test-result'), svg);
    const uri = svgDataUri(svg);
    assert.ok(uri.startsWith('data:image/svg+xml;base64,'));
    assert.equal(Buffer.from(uri.split(',')[1] ?? '', 'base64').toString('utf8'), svg);
  });

  it('the Markdown names the layer, the point\'s figures with their kinds, the chart and the steps', async function () {
    const markdown = await layerHoverMarkdown(view, { views: new Map([[view.name, view]]), point, target: 'desktop-gpu', stale: true }, 8, 'test-result');
    assert.match(markdown, /\*\*layer1\.0\.conv1\*\* · Conv · max rank 16 · rank step 4 on desktop-gpu/);
    assert.match(markdown, /front 0: rank 8 · 2\.00x \(predicted\) · -0\.5% acc \(estimated\), the whole model's/);
    assert.match(markdown, /!\[latency \(predicted\) and spectrum of layer1\.0\.conv1 by rank\]\(data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+\)/);
    assert.match(markdown, /model changed after this search/);
    assert.match(markdown, /\| \*\*8\*\* \| 0\.500 ms \| 2\.00x \| 0\.500 \|/);
  });

  it('the table keeps at most ~10 steps and always the shown rank', function () {
    const many = layerView({ name: 'big', maxRank: 64, granularity: 1, latency: Array.from({ length: 64 }, (_, i) => ({ rank: i + 1, ms: 0.1 + i * 0.01 })), errorByRank: Array.from({ length: 65 }, () => 0.5) });
    const rows = stepsTable(many, 37).slice(3);
    assert.ok(rows.length <= 12, `${rows.length} rows`);
    assert.ok(rows.some((r) => r.startsWith('| **37** |')));
    assert.ok(rows.at(-1)?.startsWith('| 64 |'));
    assert.match(stepsTable(many, undefined)[0] ?? '', /latency \(measured\)/);
  });
});
