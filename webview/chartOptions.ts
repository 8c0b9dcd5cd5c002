// The ECharts option of the Pareto scatter, built from a `show` message: one series per group of
// points (front and each baseline, each with its own symbol and theme colour), the original model as
// a reference mark at zero accuracy change, a ring around the selected point, the caption that says
// whether the axes' figures are measured or estimated, and the tooltip's text. Pure: no DOM, no ECharts runtime.
import type { ScatterSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import type { ComposeOption } from 'echarts/core';
import type { PointGroup } from '../engine/search/resultView';
import { accuracySource, formatMs, groupName, latencySource, originalFigures, pointFigures, type Figure } from './figures';
import type { PanelPoint, ShowMessage, XAxis } from './protocol';

/** The option type of the components the panel registers. */
export type ParetoChartOption = ComposeOption<ScatterSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption>;

/** Colours read from the VS Code theme (CSS colour strings). */
export interface ChartTheme {
  readonly foreground: string;
  readonly mutedForeground: string;
  readonly gridLine: string;
  readonly background: string;
  readonly border: string;
  readonly selection: string;
  readonly groups: Readonly<Record<PointGroup, string>>;
}

/** The data name of the original model's mark (point ids are 'front:i' / 'baseline:i'). */
export const ORIGINAL_NAME = 'original';

/** The series id of the selection ring (not a point series: never selectable). */
export const SELECTION_SERIES = 'selection';

const groupOrder: readonly PointGroup[] = ['front', 'uniform', 'energy', 'flops'];
const groupSymbol: Readonly<Record<PointGroup, string>> = { front: 'circle', uniform: 'triangle', energy: 'rect', flops: 'diamond' };

/** The x value of a point on an axis: ms for latency, millions of MACs for macs. */
export function xValue(point: Pick<PanelPoint, 'latencyMs' | 'macs'>, axis: XAxis): number {
  return axis === 'latency' ? point.latencyMs.value : point.macs / 1e6;
}

/** The points the chart can place (those with an accuracy change). */
export function plotted(points: readonly PanelPoint[]): PanelPoint[] {
  return points.filter((p) => p.accuracyDelta.value !== null);
}

/** The x axis name (short: the sidebar is narrow; the caption says where its figures come from). */
export function xAxisName(axis: XAxis): string {
  return axis === 'latency' ? 'latency (ms)' : 'MACs (millions)';
}

/** Where the x figures come from. */
export function xSource(show: Pick<ShowMessage, 'original' | 'labels'>, axis: XAxis): string {
  return axis === 'latency' ? latencySource(show.original.latencyMs.kind, show.labels.target) : 'counted from the graph';
}

/** Where the accuracy changes come from: their common provenance, else a pointer to each point's. */
export function ySource(points: readonly PanelPoint[]): string {
  const sources = [...new Set(plotted(points).map(accuracySource))];
  return sources.length === 1 ? (sources[0] ?? '') : 'measured or estimated: see each point';
}

/** The y axis name. */
export const Y_AXIS_NAME = 'top-1 change (points)';

/** The line under the chart's title: each axis and where its figures come from. */
export function chartCaption(show: ShowMessage, axis: XAxis): string {
  return `x: ${xAxisName(axis)}, ${xSource(show, axis)}. y: ${Y_AXIS_NAME}, ${ySource(show.points)}.`;
}

/** How many rows a plain (wrapping) legend of `names` takes in `widthPx` (about 6.5 px per character of a 12 px font). */
export function legendRows(names: readonly string[], widthPx: number): number {
  let rows = 1;
  let used = 0;
  for (const name of names) {
    const item = 25 + 5 + Math.ceil(6.5 * name.length) + 10; // icon, gap, text, item gap
    if (used > 0 && used + item > widthPx) {
      rows++;
      used = 0;
    }
    used += item;
  }
  return rows;
}

/** The whole chart option; `widthPx` (the chart's width) decides how many rows the legend wraps to. */
export function chartOption(show: ShowMessage, axis: XAxis, selectedId: string | null, theme: ChartTheme, widthPx = 480): ParetoChartOption {
  const points = plotted(show.points);
  const groups = groupOrder.filter((g) => points.some((p) => p.group === g));
  const selected = points.find((p) => p.id === selectedId);
  const text = { color: theme.foreground };
  const axisCommon = { nameLocation: 'middle' as const, nameTextStyle: text, axisLabel: { color: theme.mutedForeground, formatter: axisLabel }, axisLine: { lineStyle: { color: theme.border } }, splitLine: { lineStyle: { color: theme.gridLine } }, scale: true, min: paddedMin, max: paddedMax };
  const series: ScatterSeriesOption[] = [
    ...groups.map((group): ScatterSeriesOption => ({
      id: group, name: groupName(group, show.labels.mode), type: 'scatter', symbol: groupSymbol[group], symbolSize: group === 'front' ? 11 : 10,
      itemStyle: { color: theme.groups[group] }, emphasis: { scale: 1.5 },
      data: points.filter((p) => p.group === group).map((p) => ({ name: p.id, value: [xValue(p, axis), p.accuracyDelta.value ?? 0] })),
    })),
    {
      id: ORIGINAL_NAME, name: 'original model', type: 'scatter', symbol: 'pin', symbolSize: 22, itemStyle: { color: theme.foreground },
      data: [{ name: ORIGINAL_NAME, value: [xValue(show.original, axis), 0] }],
    },
    {
      id: SELECTION_SERIES, name: 'selected', type: 'scatter', symbol: 'emptyCircle', symbolSize: 24, silent: true, z: 10,
      itemStyle: { color: theme.selection, borderColor: theme.selection, borderWidth: 2 }, tooltip: { show: false },
      data: selected ? [{ name: selected.id, value: [xValue(selected, axis), selected.accuracyDelta.value ?? 0] }] : [],
    },
  ];
  const legend = [...groups.map((g) => groupName(g, show.labels.mode)), 'original model'];
  return {
    animation: false,
    textStyle: text,
    grid: { left: 56, right: 16, top: 18 + 22 * legendRows(legend, widthPx - 16), bottom: 48, containLabel: false },
    legend: { type: 'plain', top: 0, left: 8, right: 8, textStyle: text, inactiveColor: theme.gridLine, data: legend },
    tooltip: {
      trigger: 'item', confine: true, backgroundColor: theme.background, borderColor: theme.border, textStyle: text, className: 'pareto-tooltip',
      formatter: (params: unknown) => tooltipHtml(show, nameOf(params)),
    },
    xAxis: { type: 'value', name: xAxisName(axis), nameGap: 28, ...axisCommon },
    yAxis: { type: 'value', name: Y_AXIS_NAME, nameGap: 40, ...axisCommon },
    series,
  };
}

/** The tooltip of a point (or of the original) as HTML: every figure with its provenance. */
export function tooltipHtml(show: ShowMessage, name: string | undefined): string {
  if (name === ORIGINAL_NAME) return figuresHtml('original model', originalFigures(show.original, show.labels));
  const point = show.points.find((p) => p.id === name);
  return point ? figuresHtml(`${point.name}${point.fineTuned ? ' (fine-tuned)' : ''}`, pointFigures(point, show.original, show.labels)) : '';
}

/** A short label of a point for the chart's aria text. */
export function pointSummary(point: PanelPoint): string {
  return `${point.name}: ${formatMs(point.latencyMs.value)}, ${point.accuracyDelta.value === null ? 'top-1 change unknown' : `${point.accuracyDelta.value.toFixed(2)} points`}`;
}

/** An axis tick label: at most 3 significant digits (the padded ends are not round numbers). */
export function axisLabel(value: number): string {
  return String(Number(value.toPrecision(3)));
}

/** An axis minimum 8% of the data range below the data (no mark sits on the frame). */
export function paddedMin(extent: { min: number; max: number }): number {
  return extent.min - 0.08 * (extent.max - extent.min || Math.abs(extent.min) || 1);
}

/** An axis maximum 8% of the data range above the data. */
export function paddedMax(extent: { min: number; max: number }): number {
  return extent.max + 0.08 * (extent.max - extent.min || Math.abs(extent.max) || 1);
}

function figuresHtml(title: string, figures: readonly Figure[]): string {
  const rows = figures.map((f) => `<div class="tip-row"><span class="tip-label">${escapeHtml(f.label)}</span> <span class="tip-value">${escapeHtml(f.value)}</span> <span class="tip-source">${escapeHtml(f.source)}</span></div>`);
  return `<div class="tip-title">${escapeHtml(title)}</div>${rows.join('')}`;
}

function nameOf(params: unknown): string | undefined {
  const first: unknown = Array.isArray(params) ? params[0] : params;
  return typeof first === 'object' && first !== null && typeof (first as { name?: unknown }).name === 'string' ? (first as { name: string }).name : undefined;
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
