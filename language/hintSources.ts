// What the inline hints read, as interfaces that the extension's SearchResults and ModelStore satisfy
// (language/ does not import extension/): the selected point of each model's search result, and
// each model's analysis and text.
import type * as vscode from 'vscode';
import type { LayerView, ResultPoint, SearchResultFile } from '../engine/search/resultView';
import type { ModelInspection } from '../engine/worker/protocol';
import type { HintResult } from './hintText';

/** A model's shown search result (extension/searchResults.ts ShownResult). */
export interface ShownRankResult {
  readonly modelUri: vscode.Uri;
  readonly search: { readonly result: SearchResultFile; readonly layers: readonly LayerView[]; readonly createdAt: string };
  readonly points: readonly ResultPoint[];
  readonly selectedId: string;
  readonly stale: boolean;
}

/** The search results the hints follow (extension/searchResults.ts SearchResults). */
export interface RankResultSource {
  get(modelUri: vscode.Uri): ShownRankResult | undefined;
  all(): readonly ShownRankResult[];
  readonly onDidChange: vscode.Event<vscode.Uri>;
}

/** Model analyses (extension/modelStore.ts ModelStore). */
export interface ModelInspector {
  inspect(modelUri: vscode.Uri): Promise<ModelInspection>;
  readonly onDidChange: vscode.Event<vscode.Uri | undefined>;
}

/** A model's hint data: the shown result's views and selected point, and a key that changes with them. */
export interface ModelHints extends HintResult {
  readonly key: string;
  readonly shown: ShownRankResult;
}

/** The hint data of a model, or undefined when it has no result. */
export function modelHints(results: RankResultSource, modelUri: vscode.Uri): ModelHints | undefined {
  const shown = results.get(modelUri);
  if (!shown) return undefined;
  return {
    shown,
    views: new Map(shown.search.layers.map((v) => [v.name, v])),
    point: shown.points.find((p) => p.id === shown.selectedId),
    target: shown.search.result.target.name,
    stale: shown.stale,
    key: `${modelUri.fsPath}|${shown.search.createdAt}|${shown.selectedId}`,
  };
}
