// Plan files (`*.ranks.json`) in the editor: diagnostics for their entries (planDiagnostics.ts) against
// the model's analysis and the selected search result, quick fixes ("use the suggested rank",
// "keep this layer", "remove this entry"), the rank hint after each entry, and the layer hover. The
// JSON schema itself is contributed in package.json (jsonValidation -> dist/ranks.schema.json).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isInside } from '../engine/onnx/externalData';
import type { LayerRank } from '../engine/factorize/rankPlan';
import { modelHints, type ModelHints, type ModelInspector, type RankResultSource } from './hintSources';
import { planEntryHint } from './hintText';
import { layerHoverMarkdown } from './layerHover';
import { planProblems, type PlanLayerFacts, type PlanProblem } from './planDiagnostics';
import { entryRemovalRange, isPlanPath, modelPathOfPlan, planPathOf, rankJson, readPlanText, type PlanDocument } from './planText';

const selector: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/*.ranks.json' }, { scheme: 'untitled', pattern: '**/*.ranks.json' }];

/** A checked plan document: what it holds, its model, and its problems. */
interface CheckedPlan {
  readonly version: number;
  readonly plan: PlanDocument;
  readonly modelUri: vscode.Uri;
  readonly hints: ModelHints | undefined;
  readonly problems: readonly PlanProblem[];
}

/** The plan-file features; `refresh()` re-checks every open plan. */
export interface PlanFiles extends vscode.Disposable {
  refresh(): void;
}

/** Registers diagnostics, quick fixes, hints and hovers of plan files. */
export function registerPlanFiles(results: RankResultSource, store: ModelInspector): PlanFiles {
  const features = new PlanFeatures(results, store);
  const disposable = vscode.Disposable.from(
    features,
    vscode.languages.registerCodeActionsProvider(selector, features, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.languages.registerInlayHintsProvider(selector, features),
    vscode.languages.registerHoverProvider(selector, features),
  );
  return { refresh: () => features.checkAll(), dispose: () => disposable.dispose() };
}

/** The ranks of the plan beside a model (its unsaved text where it has unsaved changes, else the file), or undefined. */
export function planRanksOfModel(modelPath: string): Map<string, unknown> | undefined {
  const planPath = planPathOf(modelPath);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === planPath);
  let text: string;
  try {
    text = open?.isDirty ? open.getText() : fs.readFileSync(planPath, 'utf8');
  } catch {
    return undefined;
  }
  const plan = readPlanText(text);
  return plan ? new Map(plan.entries.map((e) => [e.name, e.value])) : undefined;
}

class PlanFeatures implements vscode.CodeActionProvider, vscode.InlayHintsProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('haloc-plans');
  private readonly checked = new Map<string, CheckedPlan>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[];
  readonly onDidChangeInlayHints = this.changed.event;

  constructor(
    private readonly results: RankResultSource,
    private readonly store: ModelInspector,
  ) {
    this.disposables = [
      this.diagnostics,
      this.changed,
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, 250)),
      vscode.workspace.onDidCloseTextDocument((d) => this.forget(d.uri)),
      results.onDidChange(() => this.checkAll()),
      store.onDidChange(() => this.checkAll()),
    ];
    this.checkAll();
  }

  /** Re-checks every open plan document. */
  checkAll(): void {
    for (const document of vscode.workspace.textDocuments) this.schedule(document, 0);
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const checked = this.current(document);
    if (!checked) return [];
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      const problem = checked.problems.find((p) => p.code === diagnostic.code && rangeOf(document, p.entry.keyOffset, p.entry.valueEnd).isEqual(diagnostic.range));
      if (problem) actions.push(...fixesOf(document, checked, problem, diagnostic));
    }
    return actions.filter((a, i) => actions.findIndex((b) => b.title === a.title) === i);
  }

  async provideInlayHints(document: vscode.TextDocument, range: vscode.Range): Promise<vscode.InlayHint[]> {
    const checked = this.current(document) ?? (await this.check(document));
    const hints = checked?.hints;
    if (!checked || !hints) return [];
    return checked.plan.entries.flatMap((entry) => {
      const view = hints.views.get(entry.name);
      const rank = entry.value;
      if (!view || !(rank === 'keep' || (typeof rank === 'number' && Number.isInteger(rank) && rank >= 1 && rank <= view.maxRank))) return [];
      const position = document.positionAt(entry.valueEnd);
      if (!range.contains(position)) return [];
      const text = planEntryHint(view, rank as LayerRank, hints.point, hints.target);
      const hint = new vscode.InlayHint(position, text.label);
      hint.tooltip = text.tooltip;
      hint.paddingLeft = true;
      return [hint];
    });
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const checked = this.current(document) ?? (await this.check(document));
    const offset = document.offsetAt(position);
    const entry = checked?.plan.entries.find((e) => offset >= e.keyOffset && offset <= e.valueEnd);
    const view = entry ? checked?.hints?.views.get(entry.name) : undefined;
    if (!checked?.hints || !entry || !view) return undefined;
    const rank = entry.value === 'keep' || typeof entry.value === 'number' ? (entry.value as LayerRank) : undefined;
    const markdown = await layerHoverMarkdown(view, checked.hints, rank, checked.hints.key);
    return new vscode.Hover(new vscode.MarkdownString(markdown), rangeOf(document, entry.keyOffset, entry.valueEnd));
  }

  dispose(): void {
    this.timers.forEach((t) => clearTimeout(t));
    this.disposables.forEach((d) => d.dispose());
  }

  private current(document: vscode.TextDocument): CheckedPlan | undefined {
    const checked = this.checked.get(document.uri.toString());
    return checked?.version === document.version ? checked : undefined;
  }

  private schedule(document: vscode.TextDocument, delayMs: number): void {
    if (!isPlanPath(document.uri.path)) return;
    const key = document.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      void this.check(document).then(() => this.changed.fire());
    }, delayMs));
  }

  private forget(uri: vscode.Uri): void {
    this.checked.delete(uri.toString());
    this.diagnostics.delete(uri);
  }

  /** Checks a plan document and publishes its diagnostics. */
  private async check(document: vscode.TextDocument): Promise<CheckedPlan | undefined> {
    if (!isPlanPath(document.uri.path) || document.isClosed) return undefined;
    const version = document.version;
    const plan = readPlanText(document.getText());
    if (!plan) {
      this.forget(document.uri);
      return undefined;
    }
    const modelUri = vscode.Uri.file(modelPathOfPlan(document.uri.fsPath, plan.model));
    const hints = modelHints(this.results, modelUri);
    const layers = await this.layersOf(modelUri);
    if (document.version !== version || document.isClosed) return this.current(document);
    const problems = planProblems(plan.entries, {
      layers: layers instanceof Map ? layers : undefined,
      modelName: path.basename(modelUri.fsPath),
      views: hints?.views ?? new Map(),
      target: hints?.target ?? '',
      suggested: hints?.point?.ranks,
    });
    const checked: CheckedPlan = { version, plan, modelUri, hints, problems };
    this.checked.set(document.uri.toString(), checked);
    const diagnostics = problems.map((p) => diagnosticOf(document, p));
    if (typeof layers === 'string') diagnostics.unshift(modelDiagnostic(document, plan, layers));
    this.diagnostics.set(document.uri, diagnostics);
    return checked;
  }

  /** The model's layers by name, or why they cannot be had. */
  private async layersOf(modelUri: vscode.Uri): Promise<Map<string, PlanLayerFacts> | string> {
    if (!fs.existsSync(modelUri.fsPath)) return `the model ${modelUri.fsPath} does not exist: name it in "model" (relative to this file), or name the plan <model>.ranks.json beside the model`;
    // "model" is text from the plan file: it may name only a model inside the workspace (links resolved)
    if (!insideWorkspace(modelUri.fsPath)) return `the model ${modelUri.fsPath} is outside the workspace's folders and is not read: a plan may name only a model inside them`;
    try {
      const inspection = await this.store.inspect(modelUri);
      return new Map(inspection.analysis.layers.map((l) => [l.name, { compressible: l.compressible, reason: l.reason, maxRank: l.maxRank }]));
    } catch (error) {
      return `the model ${modelUri.fsPath} cannot be analysed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}

function rangeOf(document: vscode.TextDocument, start: number, end: number): vscode.Range {
  return new vscode.Range(document.positionAt(start), document.positionAt(end));
}

function diagnosticOf(document: vscode.TextDocument, problem: PlanProblem): vscode.Diagnostic {
  const severity = problem.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning;
  const diagnostic = new vscode.Diagnostic(rangeOf(document, problem.entry.keyOffset, problem.entry.valueEnd), problem.message, severity);
  diagnostic.source = 'haloc';
  diagnostic.code = problem.code;
  return diagnostic;
}

function modelDiagnostic(document: vscode.TextDocument, plan: PlanDocument, message: string): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(rangeOf(document, plan.modelOffset, plan.modelEnd), message, vscode.DiagnosticSeverity.Warning);
  diagnostic.source = 'haloc';
  diagnostic.code = 'model';
  return diagnostic;
}

function fixesOf(document: vscode.TextDocument, checked: CheckedPlan, problem: PlanProblem, diagnostic: vscode.Diagnostic): vscode.CodeAction[] {
  const { entry } = problem;
  const valueRange = rangeOf(document, entry.valueOffset, entry.valueEnd);
  const fix = (title: string, edit: vscode.WorkspaceEdit, preferred: boolean): vscode.CodeAction => {
    const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
    action.edit = edit;
    action.diagnostics = [diagnostic];
    action.isPreferred = preferred;
    return action;
  };
  const replace = (text: string): vscode.WorkspaceEdit => {
    const edit = new vscode.WorkspaceEdit();
    edit.replace(document.uri, valueRange, text);
    return edit;
  };
  const actions: vscode.CodeAction[] = [];
  if (problem.suggested !== undefined && problem.code !== 'unknown-layer') {
    actions.push(fix(problem.suggested === 'keep' ? 'Use the suggested setting (keep)' : `Use the suggested rank (${problem.suggested})`, replace(rankJson(problem.suggested)), true));
  }
  if (problem.keepFixes) actions.push(fix('Keep this layer', replace(rankJson('keep')), problem.suggested === undefined));
  if (problem.code === 'unknown-layer') {
    const removal = entryRemovalRange(checked.plan.entries, checked.plan.entries.indexOf(entry));
    if (removal) {
      const edit = new vscode.WorkspaceEdit();
      edit.delete(document.uri, rangeOf(document, removal.start, removal.end));
      actions.push(fix('Remove this entry', edit, true));
    }
  }
  return actions;
}

/** True when `file` (links resolved) lies inside one of the workspace's folders (links resolved). */
function insideWorkspace(file: string): boolean {
  const real = realPath(file);
  return real !== undefined && (vscode.workspace.workspaceFolders ?? []).some((folder) => {
    const root = realPath(folder.uri.fsPath);
    return root !== undefined && isInside(root, real);
  });
}

function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}
