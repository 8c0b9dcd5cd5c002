// The small chart of a layer's hover: its latency on the target against rank (the steps, with the
// original layer's latency as a dashed line) and its spectrum (relative reconstruction error of the
// weight by rank) on a second axis, with the shown rank marked. Rendered to an SVG string by Apache
// ECharts' server-side renderer (no DOM), loaded on first use so that activation does not pay for it,
// and cached per layer and rank: hovering twice renders once.
import type { LayerRank } from '../engine/factorize/rankPlan';
import type { LayerView } from '../engine/search/resultView';
import type * as EchartsLineModule from './echartsLine';

/** Width and height of the chart, px. */
export const layerChartSize = { width: 380, height: 170 } as const;

const cache = new Map<string, string>();
const cacheLimit = 256;

/** The SVG of a layer's chart; `key` identifies the result it comes from (cache key with the layer and rank). */
export async function layerChartSvg(view: LayerView, rank: LayerRank | undefined, key: string): Promise<string> {
  const cacheKey = `${key}|${view.name}|${String(rank)}`;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  // a plain require: the bundle keeps it (dist/echartsLine.js is a file of its own, see scripts/bundle.mjs)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const echarts = (require('./echartsLine') as typeof EchartsLineModule).lineEcharts;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: layerChartSize.width, height: layerChartSize.height });
  try {
    chart.setOption(chartOption(view, rank));
    const svg = chart.renderToSVGString();
    if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value ?? '');
    cache.set(cacheKey, svg);
    return svg;
  } finally {
    chart.dispose();
  }
}

/** A `data:` URI of an SVG (base64, which hovers render where a plain-text URI is refused). */
export function svgDataUri(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

function chartOption(view: LayerView, rank: LayerRank | undefined): Record<string, unknown> {
  const kind = view.latencyKind === 'estimated' ? 'estimated' : 'measured';
  // Ranks between two steps cost the next step's time (latencyAtRank): a step drawn at its start, from rank 1.
  const first = view.latency[0];
  const steps = [...(first && first.rank > 1 ? [{ value: [1, first.ms], symbol: 'none' }] : []), ...view.latency.map((s) => [s.rank, s.ms])];
  const spectrum = view.errorByRank.map((e, r) => [r, e]);
  const text = { color: '#8a8a8a', fontSize: 10 };
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: text,
    legend: { top: 0, textStyle: text, itemWidth: 14, itemHeight: 6 },
    grid: { left: 44, right: 44, top: 24, bottom: 30 },
    xAxis: { type: 'value', name: 'rank', nameLocation: 'middle', nameGap: 18, min: 0, max: Math.max(1, view.maxRank), axisLabel: text, nameTextStyle: text, splitLine: { show: false } },
    yAxis: [
      { type: 'value', name: `ms (${kind})`, min: 0, max: Number((1.15 * Math.max(view.originalMs, ...view.latency.map((s) => s.ms))).toPrecision(2)), axisLabel: text, nameTextStyle: text, splitLine: { lineStyle: { color: '#8a8a8a33' } } },
      { type: 'value', name: 'rel. error', min: 0, max: 1, axisLabel: text, nameTextStyle: text, splitLine: { show: false } },
    ],
    series: [
      {
        name: `latency (${kind})`, type: 'line', step: 'start', data: steps, symbol: 'circle', symbolSize: 5, showAllSymbol: true, yAxisIndex: 0, lineStyle: { color: '#3b8eea', width: 1.5 }, itemStyle: { color: '#3b8eea' },
        markLine: {
          silent: true, symbol: 'none', label: { show: true, fontSize: 9, color: '#8a8a8a', formatter: '{b}', position: 'insideEndTop' },
          data: [
            { name: `original ${view.originalMs.toFixed(3)} ms`, yAxis: view.originalMs, lineStyle: { color: '#d16969', type: 'dashed' } },
            ...(typeof rank === 'number' ? [{ name: `rank ${rank}`, xAxis: rank, lineStyle: { color: '#e5a50a', type: 'solid' } }] : []),
          ],
        },
      },
      { name: 'spectrum: rel. error', type: 'line', data: spectrum, symbol: 'none', yAxisIndex: 1, lineStyle: { color: '#23a36c', width: 1.2 }, itemStyle: { color: '#23a36c' } },
    ],
  };
}
