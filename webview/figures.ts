// The figures of a point in words, each with where it comes from (measured, a measured per-layer
// table, an estimate, or counted from the graph): used by the tooltip, the details list, the
// ranks table and the screen-reader announcement. Pure: no DOM.
import type { LatencyValue } from '../engine/search/searchResult';
import type { PanelLabels, PanelOriginal, PanelPoint } from './protocol';

/** A labelled figure: what it is, its value in words, and its provenance. */
export interface Figure {
  readonly label: string;
  readonly value: string;
  readonly source: string;
}

/** The provenance of a latency in words. */
export function latencySource(kind: LatencyValue['kind'], target: string): string {
  return kind === 'measured-table' ? `measured per-layer table, ${target}` : `estimated, ${target} profile`;
}

/** Milliseconds with 3 significant digits. */
export function formatMs(ms: number): string {
  return `${ms >= 100 ? ms.toFixed(0) : ms.toPrecision(3)} ms`;
}

/** A count as 1.23M / 45.6k / 789. */
export function formatCount(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  return String(Math.round(value));
}

/** A signed change in top-1 points, e.g. "-0.84 points". */
export function formatDelta(points: number): string {
  const sign = points > 0 ? '+' : points < 0 ? '\u2212' : '\u00b1';
  return `${sign}${Math.abs(points).toFixed(2)} points`;
}

/** The accuracy delta's provenance: its label, prefixed with its kind unless the label says it. */
export function accuracySource(point: Pick<PanelPoint, 'accuracyDelta'>): string {
  const { kind, label } = point.accuracyDelta;
  return label.toLowerCase().startsWith(kind) ? label : `${kind}${label ? `, ${label}` : ''}`;
}

/** Every figure of a point, in display order. */
export function pointFigures(point: PanelPoint, original: PanelOriginal, labels: PanelLabels): Figure[] {
  const figures: Figure[] = [
    { label: 'Latency', value: `${formatMs(point.latencyMs.value)} (${point.speedup.toFixed(2)}x)`, source: latencySource(point.latencyMs.kind, labels.target) },
  ];
  if (point.measuredLatencyMs !== null) {
    const speedup = original.measuredLatencyMs !== null ? ` (${(original.measuredLatencyMs / point.measuredLatencyMs).toFixed(2)}x)` : '';
    figures.push({ label: 'End-to-end latency', value: `${formatMs(point.measuredLatencyMs)}${speedup}`, source: 'measured on this machine' });
  }
  figures.push(
    { label: 'Top-1 change', value: point.accuracyDelta.value === null ? 'unknown' : formatDelta(point.accuracyDelta.value), source: accuracySource(point) },
  );
  if (point.top1 !== null) figures.push({ label: 'Top-1', value: `${(100 * point.top1).toFixed(2)}%`, source: point.accuracyDelta.kind === 'measured' ? 'measured' : 'estimated' });
  figures.push(
    { label: 'MACs', value: `${formatCount(point.macs)} (${(100 * point.macsReduction).toFixed(1)}% fewer)`, source: 'counted from the graph' },
    { label: 'Parameters', value: `${formatCount(point.params)} (of ${formatCount(original.params)})`, source: 'counted from the graph' },
  );
  return figures;
}

/** The original model's figures. */
export function originalFigures(original: PanelOriginal, labels: PanelLabels): Figure[] {
  const figures: Figure[] = [{ label: 'Latency', value: formatMs(original.latencyMs.value), source: latencySource(original.latencyMs.kind, labels.target) }];
  if (original.measuredLatencyMs !== null) figures.push({ label: 'End-to-end latency', value: formatMs(original.measuredLatencyMs), source: 'measured on this machine' });
  if (original.top1 !== null) figures.push({ label: 'Top-1', value: `${(100 * original.top1).toFixed(2)}%`, source: 'measured' });
  figures.push({ label: 'MACs', value: formatCount(original.macs), source: 'counted from the graph' }, { label: 'Parameters', value: formatCount(original.params), source: 'counted from the graph' });
  return figures;
}

/** One sentence for a screen reader: the point, its position in the order, and its main figures. */
export function announcement(point: PanelPoint, position: number, count: number, labels: PanelLabels): string {
  const delta = point.accuracyDelta.value === null ? 'top-1 change unknown' : `top-1 change ${formatDelta(point.accuracyDelta.value)} (${accuracySource(point)})`;
  return `${point.name}, ${position} of ${count}: latency ${formatMs(point.latencyMs.value)} (${latencySource(point.latencyMs.kind, labels.target)}), ${delta}, ${(100 * point.macsReduction).toFixed(1)}% fewer MACs.`;
}

/** A group's name in the legend. */
export function groupName(group: PanelPoint['group'], mode: string): string {
  switch (group) {
    case 'front':
      return mode === 'haloc' ? 'HALOC front' : 'Pareto front';
    case 'uniform':
      return 'uniform rank';
    case 'energy':
      return 'energy threshold';
    case 'flops':
      return 'same search on MACs';
  }
}
