// The Pareto explorer's `show` message from a model's shown search result: its points with their
// per-layer ranks table (the layer's predicted speedup from the target's latency steps), the original
// model's figures and the result's labels. Pure (no vscode runtime): the view passes plain values.
import { layerSpeedup, type LayerView, type ResultPoint } from '../engine/search/resultView';
import type { LayerRow, PanelModel, PanelOriginal, PanelPoint, ShowMessage, XAxis } from '../webview/protocol';
import type { ModelSearch } from './searchResults';

/** What the panel needs of a ShownResult. */
export interface PanelSource {
  readonly search: ModelSearch;
  readonly points: readonly ResultPoint[];
  readonly selectedId: string;
  readonly stale: boolean;
}

/** The `show` message of a model's result. */
export function showMessage(model: PanelModel, models: readonly PanelModel[], source: PanelSource, axis: XAxis): ShowMessage {
  const { result, layers, settingsLabel, createdAt } = source.search;
  const original: PanelOriginal = {
    macs: result.original.macs,
    params: result.original.params,
    latencyMs: result.original.latencyMs,
    measuredLatencyMs: result.mode === 'haloc' ? result.original.measuredLatencyMs : null,
    top1: result.original.top1,
  };
  return {
    type: 'show',
    model,
    models,
    points: source.points.map((p) => panelPoint(p, layers)),
    original,
    selectedId: source.selectedId,
    stale: source.stale,
    labels: { mode: result.mode, target: result.target.name, settings: settingsLabel, createdAt },
    axis,
  };
}

/** A point with its layer rows (every layer of the search, in order; unlisted layers are kept). */
export function panelPoint(point: ResultPoint, layers: readonly LayerView[]): PanelPoint {
  return {
    id: point.id,
    group: point.group,
    name: point.name,
    macs: point.macs,
    params: point.params,
    macsReduction: point.macsReduction,
    latencyMs: point.latencyMs,
    speedup: point.speedup,
    measuredLatencyMs: point.measuredLatencyMs,
    top1: point.top1,
    accuracyDelta: point.accuracyDelta,
    fineTuned: point.fineTuned,
    layers: layerRows(point, layers),
  };
}

function layerRows(point: ResultPoint, layers: readonly LayerView[]): LayerRow[] {
  if (layers.length === 0) {
    return Object.entries(point.ranks).map(([layer, rank]) => ({ layer, op: '', rank, maxRank: 0, speedup: null, speedupKind: point.latencyMs.kind }));
  }
  return layers.map((view) => {
    const rank = point.ranks[view.name] ?? 'keep';
    const speedup = view.latency.length > 0 && view.originalMs > 0 ? layerSpeedup(view, rank) : null;
    return { layer: view.name, op: view.op, rank, maxRank: view.maxRank, speedup: speedup !== null && Number.isFinite(speedup) ? speedup : null, speedupKind: view.latencyKind };
  });
}

/** A model's label: its path relative to the workspace folder that holds it, else its file name. */
export function modelLabel(fsPath: string, workspaceFolders: readonly string[]): string {
  const normalized = fsPath.replace(/\\/g, '/');
  for (const folder of workspaceFolders) {
    const root = folder.replace(/\\/g, '/').replace(/\/$/, '');
    if (normalized.startsWith(`${root}/`)) return normalized.slice(root.length + 1);
  }
  return normalized.split('/').pop() ?? normalized;
}
