// The words of the inline rank hints (ONNX text view, plan files, PyTorch sources), pure so that unit
// tests can check them. Every figure says whether it is measured or estimated: a layer's speed-up is
// 'measured' when it comes from a latency table measured on this machine and 'predicted' when the
// table is an analytic estimate; the accuracy change is the selected point's whole-model figure,
// with the kind the search gave it. Labels are short because VS Code cuts a line's inlay hints at
// 43 characters by default (editor.inlayHints.maximumLength): one kind in parentheses covers both
// figures when they agree (`rank 24 · 2.1x · -0.3% acc (measured)`), else each gets its own
// abbreviated kind; the tooltip says everything in full.
import type { LayerRank } from '../engine/factorize/rankPlan';
import { layerSpeedup, type LayerView, type ResultPoint } from '../engine/search/resultView';

/** A hint's one-line label and its longer tooltip. */
export interface HintText {
  readonly label: string;
  readonly tooltip: string;
}

/** What the hints of one model show: its layer views, the selected point and the target's name. */
export interface HintResult {
  readonly views: ReadonlyMap<string, LayerView>;
  readonly point: ResultPoint | undefined;
  readonly target: string;
  /** True when the model changed after the search. */
  readonly stale: boolean;
}

/** 'measured' for a measured latency table, 'predicted' for an estimated one. */
export function speedupKind(view: Pick<LayerView, 'latencyKind'>): 'measured' | 'predicted' {
  return view.latencyKind === 'estimated' ? 'predicted' : 'measured';
}

/** "2.1x (measured)": a layer's speed-up at a rank on the target. */
export function speedupText(view: Pick<LayerView, 'originalMs' | 'latency' | 'latencyKind'>, rank: LayerRank): string {
  return `${layerSpeedup(view, rank).toFixed(1)}x (${speedupKind(view)})`;
}

/** "-0.3% acc (measured)", or "acc n/a" when the search could neither measure nor estimate it. */
export function accuracyText(point: Pick<ResultPoint, 'accuracyDelta'>): string {
  const { value, kind } = point.accuracyDelta;
  if (value === null) return 'acc n/a';
  const sign = value > 0 ? '+' : value < 0 ? '-' : '±';
  return `${sign}${Math.abs(value).toFixed(1)}% acc (${kind})`;
}

/** "rank 24" or "keep". */
export function rankText(rank: LayerRank): string {
  return rank === 'keep' ? 'keep' : `rank ${rank}`;
}

/** The short label of a rank's figures: `rank 24 · 2.1x · -0.3% acc (measured)`, or with a kind per figure when they differ. */
export function rankFiguresLabel(view: LayerView, rank: number, point: Pick<ResultPoint, 'accuracyDelta'>): string {
  const factor = layerSpeedup(view, rank);
  const speedup = `${factor >= 10 ? factor.toFixed(0) : factor.toFixed(1)}x`;
  const speedEstimated = view.latencyKind === 'estimated';
  const { value, kind } = point.accuracyDelta;
  if (value === null) return `rank ${rank} · ${speedup} (${speedEstimated ? 'estimated' : 'measured'}) · acc n/a`;
  const accuracy = `${value > 0 ? '+' : value < 0 ? '-' : '±'}${Math.abs(value).toFixed(1)}% acc`;
  if (speedEstimated === (kind === 'estimated')) return `rank ${rank} · ${speedup} · ${accuracy} (${kind})`;
  return `rank ${rank} · ${speedup} (${speedEstimated ? 'est.' : 'meas.'}) · ${accuracy} (${kind === 'estimated' ? 'est.' : 'meas.'})`;
}

/** The hint of a compressible layer at the selected point: `rank 24 · 2.1x · -0.3% acc (measured)`, or `keep`. */
export function layerHint(view: LayerView, point: ResultPoint, target: string, stale = false): HintText {
  const rank = point.ranks[view.name] ?? 'keep';
  const parts = rank === 'keep' ? ['keep'] : [rankFiguresLabel(view, rank, point)];
  const tooltip = [
    `${point.name}: ${rank === 'keep' ? `keeps ${view.name} as it is` : `${view.name} at rank ${rank} of ${view.maxRank}`}.`,
    rank === 'keep' ? '' : `Speed-up of this layer on ${target}: ${layerSpeedup(view, rank).toFixed(2)}x, ${speedupKind(view)} (${view.latencyKind === 'estimated' ? 'from an analytic latency estimate' : 'from latency measured on this machine'}).`,
    point.accuracyDelta.value === null ? 'No accuracy change could be measured or estimated.' : `Accuracy change ${accuracyText(point)} is the whole model's at this point (${point.accuracyDelta.label}), not this layer's alone.`,
    stale ? 'The model changed after this search: the figures may be out of date.' : '',
  ].filter((line) => line.length > 0);
  return { label: `${parts.join(' · ')}${stale ? ' (stale)' : ''}`, tooltip: tooltip.join('\n') };
}

/** Why a layer is left alone: it cannot be factorized (analysis), or it does not pay on the target (search). */
export interface LeaveReason {
  readonly kind: 'not-compressible' | 'not-worth';
  readonly reason: string;
}

/** The marker of a layer left alone: `not worth it: not faster on <target>` or `not compressible: <reason>` (in full in the tooltip). */
export function leaveHint({ kind, reason }: LeaveReason): HintText {
  if (kind === 'not-compressible') return { label: `not compressible: ${reason}`, tooltip: `Not compressible: ${reason}` };
  const short = (reason.split(':')[0] ?? reason).replace(/^fewer MACs, /, '');
  return { label: `not worth it: ${short}`, tooltip: `Not worth compressing: ${reason}` };
}

/** Why a layer should be left alone, if it should: the analysis's reason, else the target's. */
export function leaveReason(view: Pick<LayerView, 'notWorth'> | undefined, analysis: { readonly compressible: boolean; readonly reason: string | null }): LeaveReason | undefined {
  if (!analysis.compressible) return { kind: 'not-compressible', reason: analysis.reason ?? 'cannot be factorized' };
  if (view?.notWorth) return { kind: 'not-worth', reason: view.notWorth };
  return undefined;
}

/** The hint after a plan entry: the plan's rank on the target, and the selected point's rank when it differs. */
export function planEntryHint(view: LayerView, planRank: LayerRank, point: ResultPoint | undefined, target: string): HintText {
  const suggested = point?.ranks[view.name];
  const parts = [planRank === 'keep' ? 'kept' : speedupText(view, planRank)];
  if (suggested !== undefined && suggested !== planRank) parts.push(`suggested: ${rankText(suggested)}`);
  else if (suggested !== undefined) parts.push('as suggested');
  const tooltip = [
    planRank === 'keep' ? `${view.name} is kept as it is.` : `Speed-up of ${view.name} at rank ${planRank} on ${target}: ${layerSpeedup(view, planRank).toFixed(2)}x, ${speedupKind(view)}.`,
    point && suggested !== undefined ? `${point.name} suggests ${rankText(suggested)}; its accuracy change ${accuracyText(point)} is the whole model's (${point.accuracyDelta.label}).` : 'No point of a search is selected for this model.',
  ];
  return { label: parts.join(' · '), tooltip: tooltip.join('\n') };
}

/** The hint of a PyTorch attribute that matches several layers of a model: their settings, counted (`10 layers: rank 8 ×3 · keep ×7`). */
export function layerListHint(attribute: string, modelName: string, settings: readonly { readonly layer: string; readonly rank: LayerRank }[], point: ResultPoint): HintText {
  const counts = new Map<string, number>();
  for (const { rank } of settings) counts.set(rankText(rank), (counts.get(rankText(rank)) ?? 0) + 1);
  const summary = [...counts].map(([text, count]) => `${text} ×${count}`).join(' · ');
  const tooltip = [
    `${settings.length} layers of ${modelName} end in '${attribute}' (the attribute may be any of them; the class it is defined in is not used to choose):`,
    ...settings.map(({ layer, rank }) => `  ${layer}: ${rankText(rank)}`),
    `At ${point.name}; its accuracy change ${accuracyText(point)} is the whole model's (${point.accuracyDelta.label}).`,
  ];
  return { label: `${settings.length} layers: ${summary}`, tooltip: tooltip.join('\n') };
}
