// The per-layer ranks table of the selected point as text cells for vscode-data-grid: layer (and op),
// rank of maximum rank, and the layer's speedup from the target's latency table (labelled measured
// table or estimated in the column title). Pure: no DOM.
import type { LatencyValue } from '../engine/search/searchResult';
import type { PanelPoint } from './protocol';

/** A column of the grid (vscode-data-grid's ColumnDefinition subset). */
export interface RanksColumn {
  readonly columnDataKey: keyof RanksRow;
  readonly title: string;
}

/** One row of the grid, every cell as text (few columns: the side bar is narrow). */
export interface RanksRow {
  /** The layer's name and op, e.g. "conv1 (Conv)". */
  readonly layer: string;
  /** "rank / max rank", or "keep / max rank". */
  readonly rank: string;
  readonly speedup: string;
}

/** The columns, the speedup's titled with its provenance. */
export function ranksColumns(kind: LatencyValue['kind'] | undefined): RanksColumn[] {
  const source = kind === undefined ? '' : kind === 'measured-table' ? ' (measured table)' : ' (estimated)';
  return [
    { columnDataKey: 'layer', title: 'Layer' },
    { columnDataKey: 'rank', title: 'Rank / max' },
    { columnDataKey: 'speedup', title: `Speedup${source}` },
  ];
}

/** The rows of a point: every layer, kept layers as "keep" with speedup 1.00x. */
export function ranksRows(point: PanelPoint): RanksRow[] {
  return point.layers.map((l) => ({
    layer: l.op ? `${l.layer} (${l.op})` : l.layer,
    rank: `${l.rank} / ${l.maxRank}`,
    speedup: l.speedup === null ? 'n/a' : `${l.speedup.toFixed(2)}x`,
  }));
}

/** The grid's column widths (CSS grid-template-columns). */
export const ranksGridTemplate = 'minmax(0, 2fr) minmax(0, 1fr) minmax(0, 1.3fr)';

/** A one-line summary of a point's ranks, e.g. "12 of 20 layers factorized". */
export function ranksSummary(point: PanelPoint): string {
  const factorized = point.layers.filter((l) => l.rank !== 'keep').length;
  return `${factorized} of ${point.layers.length} layers factorized`;
}
