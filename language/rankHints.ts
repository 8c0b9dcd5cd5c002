// Inline rank hints in the ONNX text view (`onnx-text` documents): an inlay hint on each compressible
// layer's line (after its `[name]`) with the selected point's rank, the layer's speed-up and the
// point's accuracy change (each labelled measured or estimated), a marker with the reason on layers
// left alone, a CodeLens to apply or change the rank (haloc.changeLayerRank), and a hover with the layer's
// spectrum and latency steps. Refreshed when a result, its selected point, a model or a plan changes.
// registerRankHints also wires the plan-file and PyTorch features.
import * as vscode from 'vscode';
import type { LayerAnalysis } from '../engine/graph/analyzeModel';
import type { ModelInspection } from '../engine/worker/protocol';
import { changeLayerRankCommand, registerChangeLayerRank } from './changeLayerRank';
import { modelHints, type ModelHints, type ModelInspector, type RankResultSource } from './hintSources';
import { layerHint, leaveHint, leaveReason, rankText } from './hintText';
import { layerHoverMarkdown } from './layerHover';
import { modelUriOf, onnxTextScheme } from './onnxTextDocuments';
import { planRanksOfModel, registerPlanFiles } from './planFiles';
import { isPlanPath, planPathOf } from './planText';
import { registerPytorchHints } from './pytorchHints';

/** What the hints need from the extension. */
export interface RankHintDeps {
  readonly results: RankResultSource;
  readonly store: ModelInspector;
}

const selector: vscode.DocumentSelector = [{ scheme: onnxTextScheme }, { language: 'onnx-text' }];

/** Registers the hints of the ONNX text view, plan files and PyTorch sources, and haloc.changeLayerRank. */
export function registerRankHints({ results, store }: RankHintDeps): vscode.Disposable {
  const onnx = new OnnxRankHints(results, store);
  const plans = registerPlanFiles(results, store);
  const refresh = (): void => {
    onnx.refresh();
    plans.refresh();
  };
  const planWatcher = vscode.workspace.createFileSystemWatcher('**/*.ranks.json');
  return vscode.Disposable.from(
    onnx,
    plans,
    planWatcher,
    planWatcher.onDidChange(() => onnx.refresh()),
    planWatcher.onDidCreate(() => onnx.refresh()),
    planWatcher.onDidDelete(() => onnx.refresh()),
    vscode.workspace.onDidChangeTextDocument((e) => isPlanPath(e.document.uri.path) && onnx.refresh()),
    vscode.languages.registerInlayHintsProvider(selector, onnx),
    vscode.languages.registerCodeLensProvider(selector, onnx),
    vscode.languages.registerHoverProvider(selector, onnx),
    registerChangeLayerRank(results, store, refresh),
    registerPytorchHints(results),
  );
}

/** The providers of `onnx-text` documents. */
class OnnxRankHints implements vscode.InlayHintsProvider, vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[];
  readonly onDidChangeInlayHints = this.changed.event;
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(
    private readonly results: RankResultSource,
    private readonly store: ModelInspector,
  ) {
    this.disposables = [this.changed, results.onDidChange(() => this.refresh()), store.onDidChange(() => this.refresh())];
  }

  refresh(): void {
    this.changed.fire();
  }

  async provideInlayHints(document: vscode.TextDocument, range: vscode.Range): Promise<vscode.InlayHint[]> {
    const model = await this.model(document);
    if (!model) return [];
    const hints: vscode.InlayHint[] = [];
    for (const { layer, line } of model.lines) {
      if (line < range.start.line || line > range.end.line) continue;
      const text = this.hintOf(layer, model.hints);
      if (!text) continue;
      const hint = new vscode.InlayHint(hintPosition(document, line), text.label);
      hint.tooltip = text.tooltip;
      hint.paddingLeft = true;
      hint.paddingRight = true;
      hints.push(hint);
    }
    return hints;
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const model = await this.model(document);
    if (!model) return [];
    const plan = planRanksOfModel(model.modelUri.fsPath);
    return model.lines
      .filter(({ layer }) => layer.compressible)
      .map(({ layer, line }) => {
        const suggested = model.hints?.point?.ranks[layer.name];
        const planned = plan?.get(layer.name);
        const title = lensTitle(suggested === undefined ? undefined : rankText(suggested), planned === 'keep' || typeof planned === 'number' ? rankText(planned) : undefined);
        return new vscode.CodeLens(new vscode.Range(line, 0, line, 0), {
          title,
          command: changeLayerRankCommand,
          arguments: [model.modelUri, layer.name],
          tooltip: `Write a rank for ${layer.name} into ${planPathOf(model.modelUri.fsPath)}`,
        });
      });
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const model = await this.model(document);
    const found = model?.lines.find((l) => l.line === position.line);
    if (!model || !found) return undefined;
    const { layer } = found;
    const view = model.hints?.views.get(layer.name);
    const range = document.lineAt(position.line).range;
    if (!view || !model.hints) {
      const reason = leaveReason(undefined, layer);
      const text = reason ? leaveHint(reason).tooltip : `${layer.name}: no search result for this model yet: run "HALOC: Compress Model..." to see its rank hints.`;
      return new vscode.Hover(new vscode.MarkdownString().appendText(text), range);
    }
    const shownRank = model.hints.point?.ranks[layer.name];
    const args = encodeURIComponent(JSON.stringify([model.modelUri.fsPath, layer.name]));
    const markdown = new vscode.MarkdownString(`${await layerHoverMarkdown(view, model.hints, shownRank, model.hints.key)}\n\n[Set the rank in the plan…](command:${changeLayerRankCommand}?${args})`);
    markdown.isTrusted = { enabledCommands: [changeLayerRankCommand] };
    return new vscode.Hover(markdown, range);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  /** The hint of a layer: the point's setting, or the reason it is left alone. */
  private hintOf(layer: LayerAnalysis, hints: ModelHints | undefined): { label: string; tooltip: string } | undefined {
    const view = hints?.views.get(layer.name);
    const reason = leaveReason(view, layer);
    const rank = hints?.point?.ranks[layer.name];
    if (reason && (rank === undefined || rank === 'keep')) return leaveHint(reason);
    if (view && hints?.point) return layerHint(view, hints.point, hints.target, hints.stale);
    return undefined;
  }

  private async model(document: vscode.TextDocument): Promise<{ modelUri: vscode.Uri; hints: ModelHints | undefined; lines: { layer: LayerAnalysis; line: number }[] } | undefined> {
    if (document.uri.scheme !== onnxTextScheme) return undefined;
    const modelUri = modelUriOf(document.uri);
    let inspection: ModelInspection;
    try {
      inspection = await this.store.inspect(modelUri);
    } catch {
      return undefined;
    }
    const lines = inspection.analysis.layers.flatMap((layer) => {
      const line = inspection.modelText.nodeLines[layer.nodeIndex];
      return line === undefined || line >= document.lineCount ? [] : [{ layer, line }];
    });
    return { modelUri, hints: modelHints(this.results, modelUri), lines };
  }
}

/** After the node's `[name]` at the start of its line (lines are long: their end is often out of view), else the line's end. */
function hintPosition(document: vscode.TextDocument, line: number): vscode.Position {
  const text = document.lineAt(line).text;
  const name = /^\s*\[[^\]\n]*\]/.exec(text);
  return name ? new vscode.Position(line, name[0].length) : document.lineAt(line).range.end;
}

function lensTitle(suggested: string | undefined, planned: string | undefined): string {
  if (planned !== undefined && suggested !== undefined && planned !== suggested) return `plan: ${planned} · suggested: ${suggested} (change…)`;
  if (planned !== undefined) return `plan: ${planned} (change…)`;
  if (suggested !== undefined) return `${suggested} (apply…)`;
  return 'set rank…';
}
