// The Markdown of a layer's hover (ONNX text view, plan files): what the selected point does with the
// layer, a small chart of its latency steps and spectrum (an SVG as a data: URI image), and the steps
// as a table, every figure labelled measured or estimated.
import type { LayerRank } from '../engine/factorize/rankPlan';
import { layerSpeedup, type LayerView } from '../engine/search/resultView';
import { accuracyText, rankText, speedupKind, type HintResult } from './hintText';
import { layerChartSvg, svgDataUri } from './layerChart';

const maxTableRows = 10;

/** The hover's Markdown for a layer; `shownRank` is the rank marked on the chart (the point's or the plan's). */
export async function layerHoverMarkdown(view: LayerView, result: HintResult, shownRank: LayerRank | undefined, cacheKey: string): Promise<string> {
  const kind = speedupKind(view);
  const header = `**${escapeMarkdown(view.name)}** · ${view.op} · max rank ${view.maxRank} · rank step ${view.granularity} on ${escapeMarkdown(result.target)}`;
  const lines = [header, ''];
  const suggested = result.point?.ranks[view.name];
  if (result.point && suggested !== undefined) {
    const speed = suggested === 'keep' ? '' : ` · ${layerSpeedup(view, suggested).toFixed(2)}x (${kind})`;
    lines.push(`${escapeMarkdown(result.point.name)}: ${rankText(suggested)}${speed} · ${accuracyText(result.point)}, the whole model's (${escapeMarkdown(result.point.accuracyDelta.label)})`, '');
  }
  if (view.notWorth) lines.push(`Not worth compressing: ${escapeMarkdown(view.notWorth)}`, '');
  if (result.stale) lines.push('*The model changed after this search: the figures may be out of date.*', '');
  const svg = await layerChartSvg(view, shownRank, cacheKey);
  lines.push(`![latency (${kind}) and spectrum of ${escapeMarkdown(view.name)} by rank](${svgDataUri(svg)})`, '');
  lines.push(...stepsTable(view, shownRank));
  return lines.join('\n');
}

/** The latency steps as a Markdown table (at most ~10 rows, always with the shown rank). */
export function stepsTable(view: LayerView, shownRank: LayerRank | undefined): string[] {
  const kind = view.latencyKind === 'estimated' ? 'estimated' : 'measured';
  const steps = sampleSteps(view.latency, typeof shownRank === 'number' ? shownRank : undefined);
  const error = (rank: number): string => {
    const e = view.errorByRank[rank];
    return e === undefined ? '?' : e.toFixed(3);
  };
  return [
    `| rank | latency (${kind}) | speed-up | rel. error (spectrum) |`,
    '|---:|---:|---:|---:|',
    `| original | ${view.originalMs.toFixed(3)} ms | 1.00x | 0 |`,
    ...steps.map((s) => `| ${s.rank === shownRank ? `**${s.rank}**` : s.rank} | ${s.ms.toFixed(3)} ms | ${(view.originalMs / s.ms).toFixed(2)}x | ${error(s.rank)} |`),
  ];
}

function sampleSteps(steps: LayerView['latency'], keep: number | undefined): LayerView['latency'] {
  if (steps.length <= maxTableRows) return steps;
  const stride = Math.ceil(steps.length / maxTableRows);
  return steps.filter((s, i) => i % stride === 0 || i === steps.length - 1 || s.rank === keep);
}

function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+!|<>])/g, '\\$1');
}
