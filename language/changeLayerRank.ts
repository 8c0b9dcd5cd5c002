// The command `haloc.changeLayerRank` (model, layer[, rank]): picks one of the layer's candidate ranks
// (with their latency on the target) or "keep", and writes it into the plan beside the model,
// `<model>.ranks.json`: created by hand ('manual') when missing, otherwise updated, schema-checked
// before and after, and written through a temporary file and a rename.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseRankPlan, readRankPlan, writeRankPlan, type LayerRank, type RankPlan } from '../engine/factorize/rankPlan';
import type { LayerAnalysis } from '../engine/graph/analyzeModel';
import type { LayerView } from '../engine/search/resultView';
import { modelHints, type ModelInspector, type RankResultSource } from './hintSources';
import { rankText, speedupKind } from './hintText';
import { planPathOf, withLayerRank } from './planText';

/** Id of the command. */
export const changeLayerRankCommand = 'haloc.changeLayerRank';

interface RankItem extends vscode.QuickPickItem {
  readonly rank: LayerRank;
}

/** Registers the command; `written` is told of each plan file it writes. */
export function registerChangeLayerRank(results: RankResultSource, store: ModelInspector, written: (planUri: vscode.Uri) => void): vscode.Disposable {
  return vscode.commands.registerCommand(changeLayerRankCommand, async (model: unknown, layerName: unknown, rank?: unknown) => {
    try {
      const modelUri = model instanceof vscode.Uri ? model : typeof model === 'string' ? vscode.Uri.file(model) : undefined;
      if (!modelUri || typeof layerName !== 'string') throw new Error(`${changeLayerRankCommand} needs a model and a layer name (use the CodeLens in the ONNX text view)`);
      const chosen = rank === 'keep' || typeof rank === 'number' ? rank : await pickRank(results, store, modelUri, layerName);
      if (chosen === undefined) return undefined;
      const planUri = setPlanRank(modelUri, layerName, chosen);
      written(planUri);
      void vscode.window.showInformationMessage(`HALOC: ${layerName} set to ${rankText(chosen)} in ${path.basename(planUri.fsPath)}.`);
      return planUri;
    } catch (error) {
      void vscode.window.showErrorMessage(`HALOC: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  });
}

/** Writes `rank` for `layer` into the plan beside the model; returns the plan's Uri. */
export function setPlanRank(modelUri: vscode.Uri, layer: string, rank: LayerRank): vscode.Uri {
  const planPath = planPathOf(modelUri.fsPath);
  const planUri = vscode.Uri.file(planPath);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === planPath);
  if (open?.isDirty) throw new Error(`${path.basename(planPath)} has unsaved changes: save or revert it, then set the rank again`);
  const existing: RankPlan | undefined = fs.existsSync(planPath) ? readRankPlan(planPath) : undefined;
  const plan = parseRankPlan(withLayerRank(existing, layer, rank, path.basename(modelUri.fsPath)), planPath);
  writeRankPlan(planPath, plan);
  return planUri;
}

async function pickRank(results: RankResultSource, store: ModelInspector, modelUri: vscode.Uri, layerName: string): Promise<LayerRank | undefined> {
  const hints = modelHints(results, modelUri);
  const view = hints?.views.get(layerName);
  const suggested = hints?.point?.ranks[layerName];
  const layer = (await store.inspect(modelUri)).analysis.layers.find((l) => l.name === layerName);
  if (!layer) throw new Error(`layer '${layerName}' is not in ${modelUri.fsPath}`);
  if (!layer.compressible) throw new Error(`layer '${layerName}' cannot be factorized (${layer.reason ?? 'not compressible'})`);
  const items = view ? viewItems(view, suggested, hints?.target ?? '') : analysisItems(layer);
  const picker = await vscode.window.showQuickPick(items, {
    title: `Rank of ${layerName}${hints ? ` (latency on ${hints.target})` : ''}`,
    placeHolder: suggested === undefined ? 'Pick a rank, or keep the layer' : `Suggested by ${hints?.point?.name ?? 'the selected point'}: ${rankText(suggested)}`,
    matchOnDescription: true,
  });
  return picker?.rank;
}

function viewItems(view: LayerView, suggested: LayerRank | undefined, target: string): RankItem[] {
  const kind = speedupKind(view);
  const mark = (rank: LayerRank): string => (rank === suggested ? ' · suggested' : '');
  const keep: RankItem = { rank: 'keep', label: 'keep', description: `${view.originalMs.toFixed(3)} ms on ${target} (${kind})${mark('keep')}`, detail: 'Leave the layer as it is' };
  const ranks = view.latency.map((step): RankItem => ({
    rank: step.rank,
    label: `rank ${step.rank}`,
    description: `${step.ms.toFixed(3)} ms · ${(view.originalMs / step.ms).toFixed(2)}x (${kind})${mark(step.rank)}`,
    ...(step.ms >= view.originalMs ? { detail: 'not faster than the original layer on this target' } : {}),
  }));
  const suggestedFirst = (items: RankItem[]): RankItem[] => [...items.filter((i) => i.rank === suggested), ...items.filter((i) => i.rank !== suggested)];
  return suggestedFirst([...ranks, keep]);
}

function analysisItems(layer: LayerAnalysis): RankItem[] {
  const ranks = Array.from({ length: layer.maxRank ?? 0 }, (_, i): RankItem => ({ rank: i + 1, label: `rank ${i + 1}`, description: 'no latency figures: run a search of this model for them' }));
  return [...ranks, { rank: 'keep', label: 'keep', detail: 'Leave the layer as it is' }];
}
