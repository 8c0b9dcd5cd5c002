// Rank hints in the workspace's PyTorch sources: after each `self.<attr> = nn.Conv2d(...)` /
// `nn.Linear(...)` (pythonModules.ts), the selected point's setting of the ONNX layer it maps to, for
// every model with a search result. The mapping is by name (pytorchMatch.ts): one matching layer gets
// the same hint as in the ONNX text view; several get a counted list of their settings. The model's
// name leads the label only when several models have results (labels are cut at 43 characters).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelHints, type RankResultSource } from './hintSources';
import { layerHint, layerListHint, leaveHint, type HintText } from './hintText';
import { findModuleAssignments, type ModuleAssignment } from './pythonModules';
import { layersOfAttribute } from './pytorchMatch';

const selector: vscode.DocumentSelector = [{ scheme: 'file', language: 'python' }, { scheme: 'file', pattern: '**/*.py' }];

/** Registers the inlay hints of Python files in the workspace. */
export function registerPytorchHints(results: RankResultSource): vscode.Disposable {
  const changed = new vscode.EventEmitter<void>();
  const provider: vscode.InlayHintsProvider = {
    onDidChangeInlayHints: changed.event,
    provideInlayHints: (document, range) => (vscode.workspace.getWorkspaceFolder(document.uri) ? pytorchInlayHints(results, document, range) : []),
  };
  return vscode.Disposable.from(changed, results.onDidChange(() => changed.fire()), vscode.languages.registerInlayHintsProvider(selector, provider));
}

function pytorchInlayHints(results: RankResultSource, document: vscode.TextDocument, range: vscode.Range): vscode.InlayHint[] {
  const shown = results.all();
  if (shown.length === 0) return [];
  const assignments = findModuleAssignments(document.getText()).filter((a) => a.line >= range.start.line && a.line <= range.end.line);
  const hints: vscode.InlayHint[] = [];
  for (const assignment of assignments) {
    for (const result of shown) {
      const text = hintOf(assignment, results, result.modelUri, shown.length > 1);
      if (!text) continue;
      const hint = new vscode.InlayHint(new vscode.Position(assignment.endLine, assignment.endColumn), text.label);
      hint.tooltip = text.tooltip;
      hint.paddingLeft = true;
      hints.push(hint);
    }
  }
  return hints;
}

/** The hint of an assignment for one model, or undefined when no layer of the model matches it. */
function hintOf(assignment: ModuleAssignment, results: RankResultSource, modelUri: vscode.Uri, nameModel: boolean): HintText | undefined {
  const hints = modelHints(results, modelUri);
  const point = hints?.point;
  if (!hints || !point) return undefined;
  const modelName = path.basename(modelUri.fsPath);
  const matches = layersOfAttribute(assignment.attribute, hints.views.keys());
  const where = `self.${assignment.attribute}${assignment.className ? ` of class ${assignment.className}` : ''}`;
  if (matches.length === 1) {
    const view = hints.views.get(matches[0] ?? '');
    if (!view) return undefined;
    const rank = point.ranks[view.name] ?? 'keep';
    const text = view.notWorth && rank === 'keep' ? leaveHint({ kind: 'not-worth', reason: view.notWorth }) : layerHint(view, point, hints.target, hints.stale);
    return { label: nameModel ? `${modelName}: ${text.label}` : text.label, tooltip: `${where} matches layer ${view.name} of ${modelName} by name (the only layer whose module path ends in '${assignment.attribute}').\n${text.tooltip}` };
  }
  if (matches.length > 1) {
    const text = layerListHint(assignment.attribute, modelName, matches.map((layer) => ({ layer, rank: point.ranks[layer] ?? 'keep' })), point);
    return { label: nameModel ? `${modelName}: ${text.label}` : text.label, tooltip: `${where}:\n${text.tooltip}` };
  }
  return undefined;
}
