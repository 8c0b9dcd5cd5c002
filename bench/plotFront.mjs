// Plots the result of `haloc search --mode haloc` (result.json) as an SVG scatter for the README:
// measured end-to-end speedup on this machine against the measured top-1 change on held-out data,
// the HALOC front beside its baselines (uniform rank, energy threshold, HALOC on FLOPs), the
// original model as the reference point. Rendered by Apache ECharts' server-side SVG renderer.
// Usage: node bench/plotFront.mjs result.json out.svg [--title text]
import * as fs from 'node:fs';
import * as echarts from 'echarts';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node bench/plotFront.mjs result.json out.svg [--title text]');
  process.exit(2);
}
const args = process.argv.slice(2);
const title = args.includes('--title') ? args[args.indexOf('--title') + 1] : undefined;
const result = JSON.parse(fs.readFileSync(input, 'utf8'));
if (result.mode !== 'haloc') {
  console.error(`${input} is a '${result.mode}' result; this plot is for --mode haloc results`);
  process.exit(1);
}
const label = (p) => `${p.name}: ${(100 * p.macsReduction).toFixed(1)}% fewer MACs`;
const point = (p) => ({ value: [p.measuredSpeedup, p.accuracyDelta.value], name: label(p) });
const groups = [
  { name: 'HALOC (latency)', points: result.front, symbol: 'circle', color: '#1f77b4' },
  { name: 'HALOC on FLOPs', points: result.baselines.filter((p) => p.kind === 'flops'), symbol: 'diamond', color: '#9467bd' },
  { name: 'uniform rank', points: result.baselines.filter((p) => p.kind === 'uniform'), symbol: 'triangle', color: '#ff7f0e' },
  { name: 'energy threshold', points: result.baselines.filter((p) => p.kind === 'energy'), symbol: 'rect', color: '#2ca02c' },
].filter((g) => g.points.length > 0);
const all = [...result.front, ...result.baselines];
const deltas = all.map((p) => p.accuracyDelta.value).concat(0);
const speedups = all.map((p) => p.measuredSpeedup).concat(1);
const pad = (lo, hi, share) => [lo - share * (hi - lo || 1), hi + share * (hi - lo || 1)];
const [yMin, yMax] = pad(Math.min(...deltas), Math.max(...deltas), 0.15);
const [xMin, xMax] = pad(Math.min(...speedups), Math.max(...speedups), 0.1);

const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 760, height: 420 });
chart.setOption({
  animation: false,
  backgroundColor: '#ffffff',
  title: { text: title ?? `${result.model.split(/[\\/]/).pop()}: fine-tuned ${result.settings.finetuneEpochs} epochs, measured on ${result.data.test.images} held-out images`, left: 'center', textStyle: { fontSize: 13 } },
  legend: { bottom: 0 },
  grid: { left: 70, right: 110, top: 50, bottom: 70 },
  xAxis: { type: 'value', name: `measured speedup, batch ${result.target.batch} (x)`, nameLocation: 'middle', nameGap: 28, min: +xMin.toFixed(2), max: +xMax.toFixed(2) },
  yAxis: { type: 'value', name: 'top-1 change (points)', nameLocation: 'middle', nameGap: 45, min: +yMin.toFixed(1), max: +yMax.toFixed(1) },
  series: [
    ...groups.map((g) => ({
      name: g.name, type: 'scatter', symbol: g.symbol, symbolSize: 13, itemStyle: { color: g.color },
      data: g.points.map(point),
      label: { show: true, position: 'right', fontSize: 10, formatter: (p) => p.name.split(': ')[1] },
    })),
    { name: 'original', type: 'scatter', symbol: 'pin', symbolSize: 18, itemStyle: { color: '#555555' }, data: [{ value: [1, 0], name: 'original' }], label: { show: true, position: 'left', fontSize: 10, formatter: 'original' } },
  ],
});
fs.writeFileSync(output, chart.renderToSVGString());
chart.dispose();
console.log(`wrote ${output} (${groups.map((g) => `${g.points.length} ${g.name}`).join(', ')})`);
