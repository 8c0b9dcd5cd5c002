// The Pareto explorer's pure parts on a real fast search result: the show message the host builds
// (points, per-layer ranks and speedups, original, labels), the ECharts option (a series per group
// with its own symbol and theme colour, the original as a reference mark, the selection ring, the
// caption and tooltips that say measured or estimated), the ranks table and the figures' provenance.
import * as assert from 'node:assert/strict';
import { layerSpeedup, type ResultPoint } from '../../../engine/search/resultView';
import { modelLabel } from '../../../extension/paretoPanelData';
import { axisLabel, chartCaption, chartOption, escapeHtml, legendRows, ORIGINAL_NAME, paddedMax, paddedMin, plotted, SELECTION_SERIES, tooltipHtml, xSource, xValue, ySource } from '../../../webview/chartOptions';
import { accuracySource, announcement, pointFigures } from '../../../webview/figures';
import type { PanelPoint, ShowMessage } from '../../../webview/protocol';
import { ranksColumns, ranksRows, ranksSummary } from '../../../webview/ranksTable';
import { searchedCase, testTheme, type SearchedCase } from './paretoSupport';

type Series = { id: string; name: string; symbol: string; itemStyle: { color: string }; data: { name: string; value: [number, number] }[] };

function seriesOf(show: ShowMessage, axis: 'latency' | 'macs' = 'latency', selectedId: string | null = show.selectedId): Series[] {
  return chartOption(show, axis, selectedId, testTheme).series as unknown as Series[];
}

function pointNamed(show: ShowMessage, id: string): PanelPoint {
  const point = show.points.find((p) => p.id === id);
  assert.ok(point, `no point ${id}`);
  return point;
}

describe('webview: Pareto explorer panel data and chart', function () {
  this.timeout(120000);
  let searched: SearchedCase;
  let show: ShowMessage;

  before(async () => {
    searched = await searchedCase();
    show = searched.show;
  });

  it('builds one panel point per front and baseline point, with the result figures unchanged', () => {
    const result = searched.outcome.result;
    assert.equal(show.points.length, result.front.length + result.baselines.length);
    assert.ok(result.front.length >= 2, 'the search should give a front of several points');
    for (const [i, p] of result.front.entries()) {
      const shown = pointNamed(show, `front:${i}`);
      assert.equal(shown.group, 'front');
      assert.equal(shown.macs, p.macs);
      assert.deepEqual(shown.latencyMs, p.latencyMs);
      assert.deepEqual(shown.accuracyDelta, p.accuracyDelta);
    }
    assert.deepEqual(show.original.latencyMs, result.original.latencyMs);
    assert.equal(show.original.measuredLatencyMs, null, 'a fast search measures no end-to-end latency');
    assert.deepEqual(show.labels, { mode: 'fast', target: result.target.name, settings: 'fast, synthetic table', createdAt: '2026-01-02T03:04:05.000Z' });
    assert.equal(show.selectedId, `front:${result.budget?.chosen}`);
  });

  it('gives every point a row per searched layer with its rank and the table speedup (keep = 1x)', () => {
    const result = searched.outcome.result;
    for (const point of show.points) {
      assert.deepEqual(point.layers.map((l) => l.layer), result.layers.map((l) => l.name));
      for (const row of point.layers) {
        const layer = result.layers.find((l) => l.name === row.layer);
        assert.equal(row.maxRank, layer?.maxRank);
        assert.equal(row.speedupKind, 'measured-table');
        if (row.rank === 'keep') assert.equal(row.speedup, 1);
        else assert.ok(row.speedup !== null && row.speedup > 1, `${point.id} ${row.layer} rank ${row.rank}: speedup ${row.speedup} (every rank of the synthetic table is faster)`);
      }
    }
    const front0 = result.front[0];
    const row = pointNamed(show, 'front:0').layers.find((l) => l.rank !== 'keep');
    if (front0 && row) {
      const entry = searched.outcome.layers.find((l) => l.layer.name === row.layer)?.entry;
      assert.ok(entry);
      assert.equal(row.speedup, layerSpeedup({ originalMs: entry.originalMs, latency: entry.ranks }, row.rank));
    }
  });

  it('draws a series per group with its own symbol and theme colour, every plotted point once', () => {
    const series = seriesOf(show);
    const groups = series.filter((s) => s.id !== ORIGINAL_NAME && s.id !== SELECTION_SERIES);
    assert.deepEqual(groups.map((s) => s.id), ['front', 'uniform', 'energy', 'flops'].filter((g) => show.points.some((p) => p.group === g && p.accuracyDelta.value !== null)));
    assert.equal(new Set(groups.map((s) => s.symbol)).size, groups.length, 'each group has its own symbol');
    for (const s of groups) assert.equal(s.itemStyle.color, testTheme.groups[s.id as ResultPoint['group']]);
    const names = groups.flatMap((s) => s.data.map((d) => d.name)).sort();
    assert.deepEqual(names, plotted(show.points).map((p) => p.id).sort());
    for (const s of groups) for (const d of s.data) {
      const p = pointNamed(show, d.name);
      assert.deepEqual(d.value, [p.latencyMs.value, p.accuracyDelta.value]);
    }
  });

  it('marks the original at zero accuracy change and rings the selected point', () => {
    const series = seriesOf(show);
    const original = series.find((s) => s.id === ORIGINAL_NAME);
    assert.deepEqual(original?.data, [{ name: ORIGINAL_NAME, value: [show.original.latencyMs.value, 0] }]);
    assert.notEqual(original?.symbol, series.find((s) => s.id === 'front')?.symbol);
    const ring = series.find((s) => s.id === SELECTION_SERIES);
    const selected = pointNamed(show, show.selectedId);
    assert.deepEqual(ring?.data, [{ name: selected.id, value: [selected.latencyMs.value, selected.accuracyDelta.value] }]);
    assert.deepEqual(seriesOf(show, 'latency', null).find((s) => s.id === SELECTION_SERIES)?.data, []);
  });

  it('pads each axis so that no mark sits on the frame', () => {
    assert.equal(paddedMin({ min: -10, max: 0 }), -10.8);
    assert.equal(paddedMax({ min: -10, max: 0 }), 0.8);
    assert.equal(paddedMax({ min: 2, max: 2 }), 2.16);
    assert.equal(paddedMin({ min: 0, max: 0 }), -0.08);
  });

  it('wraps the legend to as many rows as its names need, and moves the plot down by as much', () => {
    const names = ['Pareto front', 'uniform rank', 'energy threshold', 'same search on MACs', 'original model'];
    assert.equal(legendRows(names, 2000), 1);
    assert.equal(legendRows(names, 300), 3);
    assert.equal(legendRows(['x'], 10), 1, 'one item never makes a row of its own below an empty one');
    const top = (width: number): number => (chartOption(show, 'latency', null, testTheme, width).grid as { top: number }).top;
    assert.ok(top(250) > top(2000), `grid top at 250 px: ${top(250)}, at 2000 px: ${top(2000)}`);
  });

  it('labels the padded axis ends with at most 3 significant digits', () => {
    assert.equal(axisLabel(5.970212765957445), '5.97');
    assert.equal(axisLabel(-75.6), '-75.6');
    assert.equal(axisLabel(0), '0');
    assert.equal(axisLabel(12345.6), '12300');
  });

  it('puts MACs (millions) on the x axis when asked', () => {
    const series = seriesOf(show, 'macs');
    const front = series.find((s) => s.id === 'front');
    const first = front?.data[0];
    assert.ok(first);
    assert.equal(first.value[0], pointNamed(show, first.name).macs / 1e6);
    assert.equal(series.find((s) => s.id === ORIGINAL_NAME)?.data[0]?.value[0], show.original.macs / 1e6);
    assert.equal(xValue(show.original, 'macs'), show.original.macs / 1e6);
    assert.match(xSource(show, 'macs'), /counted/);
    assert.match(chartCaption(show, 'macs'), /^x: MACs \(millions\), counted from the graph\. y: top-1 change \(points\), /);
  });

  it('says in the caption whether each axis is measured or estimated', () => {
    assert.match(xSource(show, 'latency'), /measured per-layer table/);
    const estimated: ShowMessage = { ...show, original: { ...show.original, latencyMs: { value: 1, kind: 'estimated' } } };
    assert.match(xSource(estimated, 'latency'), /estimated/);
    assert.match(ySource(show.points), /^measured/, 'the known-answer search measures on held-out images');
    const mixed = show.points.map((p, i) => (i === 0 ? { ...p, accuracyDelta: { value: -1, kind: 'estimated' as const, label: 'estimated from layer errors' } } : p));
    assert.match(ySource(mixed), /measured or estimated/);
    assert.equal(chartCaption(show, 'latency'), `x: latency (ms), ${xSource(show, 'latency')}. y: top-1 change (points), ${ySource(show.points)}.`);
  });

  it('shows every figure of a point in its tooltip with its provenance', () => {
    const point = pointNamed(show, 'front:0');
    const html = tooltipHtml(show, point.id);
    assert.ok(html.includes(escapeHtml(point.name)));
    assert.ok(html.includes('measured per-layer table'), html);
    assert.ok(html.includes(escapeHtml(accuracySource(point))), html);
    assert.ok(html.includes('counted from the graph'), html);
    assert.ok(!/style=/.test(html), 'no inline styles (the content security policy forbids them)');
    assert.match(tooltipHtml(show, ORIGINAL_NAME), /original model/);
    assert.equal(tooltipHtml(show, 'nothing'), '');
    assert.equal(escapeHtml('<b a="1">&'), '&#60;b a=&#34;1&#34;&#62;&#38;');
  });

  it('labels each figure of the details list and the announcement', () => {
    const point = pointNamed(show, show.selectedId);
    const figures = pointFigures(point, show.original, show.labels);
    assert.deepEqual(figures.map((f) => f.label), ['Latency', 'Top-1 change', 'Top-1', 'MACs', 'Parameters']);
    for (const f of figures) assert.match(f.source, /measured|estimated|counted/, `${f.label}: ${f.source}`);
    const fineTuned: PanelPoint = { ...point, measuredLatencyMs: 2, fineTuned: true };
    assert.ok(pointFigures(fineTuned, { ...show.original, measuredLatencyMs: 4 }, show.labels).some((f) => f.label === 'End-to-end latency' && f.value.includes('2.00x') && f.source === 'measured on this machine'));
    const text = announcement(point, 2, 7, show.labels);
    assert.match(text, /2 of 7/);
    assert.match(text, /measured/);
  });

  it('tabulates the ranks of the selected point', () => {
    const point = pointNamed(show, show.selectedId);
    const rows = ranksRows(point);
    assert.equal(rows.length, point.layers.length);
    for (const [i, row] of rows.entries()) {
      const layer = point.layers[i];
      assert.ok(layer);
      assert.equal(row.layer, `${layer.layer} (${layer.op})`);
      assert.equal(row.rank, `${layer.rank} / ${layer.maxRank}`);
      assert.equal(row.speedup, layer.speedup === null ? 'n/a' : `${layer.speedup.toFixed(2)}x`);
    }
    assert.match(ranksColumns('measured-table')[2]?.title ?? '', /measured table/);
    assert.match(ranksColumns('estimated')[2]?.title ?? '', /estimated/);
    assert.deepEqual(ranksColumns(undefined).map((c) => c.title), ['Layer', 'Rank / max', 'Speedup']);
    assert.match(ranksSummary(point), new RegExp(`of ${point.layers.length} layers factorized`));
  });

  it('labels models by their workspace-relative path', () => {
    assert.equal(modelLabel('/ws/nested/small.onnx', ['/ws']), 'nested/small.onnx');
    assert.equal(modelLabel('/elsewhere/m.onnx', ['/ws']), 'm.onnx');
    assert.equal(modelLabel('C:\\ws\\a\\m.onnx', ['C:\\ws']), 'a/m.onnx');
  });
});
