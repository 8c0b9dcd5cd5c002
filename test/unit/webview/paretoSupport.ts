// Helpers of the Pareto explorer tests: the `show` message of a real fast search (the known-answer
// model of the search tests, searched on synthetic labelled images against its synthetic latency
// table), built the way the extension builds it, and a fixed chart theme.
import type { FastSearchOutcome } from '../../../engine/search/fastSearch';
import { layerViews, resultPoints } from '../../../engine/search/resultView';
import { showMessage } from '../../../extension/paretoPanelData';
import type { ChartTheme } from '../../../webview/chartOptions';
import type { ShowMessage } from '../../../webview/protocol';
import { knownAnswerCase, searchKnownAnswer } from '../search/searchSupport';

/** A searched known-answer case and its show message. */
export interface SearchedCase {
  readonly outcome: FastSearchOutcome;
  readonly show: ShowMessage;
}

/** Runs the fast search once and builds the panel's show message from it. */
export async function searchedCase(): Promise<SearchedCase> {
  const c = await knownAnswerCase();
  const outcome = await searchKnownAnswer({ budget: 0.6 });
  const layers = layerViews(outcome.layers, c.latency);
  const points = resultPoints(outcome.result);
  const selectedId = outcome.result.budget?.chosen !== null && outcome.result.budget?.chosen !== undefined ? `front:${outcome.result.budget.chosen}` : (points[0]?.id ?? '');
  const model = { uri: 'file:///work/known_answer.onnx', label: 'known_answer.onnx' };
  const show = showMessage(model, [model], { search: { result: outcome.result, layers, settingsLabel: 'fast, synthetic table', createdAt: '2026-01-02T03:04:05.000Z' }, points, selectedId, stale: false }, 'latency');
  return { outcome, show };
}

/** A theme with a distinct colour per role. */
export const testTheme: ChartTheme = {
  foreground: '#101010',
  mutedForeground: '#202020',
  gridLine: '#303030',
  background: '#404040',
  border: '#505050',
  selection: '#606060',
  groups: { front: '#0000f1', uniform: '#0000f2', energy: '#0000f3', flops: '#0000f4' },
};
