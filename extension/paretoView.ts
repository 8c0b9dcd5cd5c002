// The Pareto explorer: a webview view (`haloc.pareto`, in its own activity-bar container) that shows
// a model's search result from SearchResults. The webview is not retained while hidden; it restores
// its own saved state and says `ready`, and the host posts nothing before that, then the whole state
// (result, selection, whether a compression runs). Selecting a point selects it in SearchResults (which
// the inline hints follow); "Compress to this point" runs `haloc.compressToPoint`.
import * as vscode from 'vscode';
import { dispatch, isWebviewMessage, type HostMessage, type MessageHandlers, type PanelModel, type WebviewMessage, type XAxis } from '../webview/protocol';
import { paretoHtml } from './paretoHtml';
import { modelLabel, showMessage } from './paretoPanelData';
import type { SearchResults, ShownResult } from './searchResults';

/** The id of the view (package.json contributes.views). */
export const PARETO_VIEW_ID = 'haloc.pareto';

/** What the webview reported after its last render (the integration tests wait on it). */
export interface ParetoRenderReport {
  readonly model: string | null;
  readonly points: number;
  readonly selectedId: string | null;
  readonly axis: XAxis;
}

const AXIS_KEY = 'haloc.pareto.axis';

/** The view's provider and its command. */
export class ParetoView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private modelUri: vscode.Uri | undefined;
  /** What the webview shows: `show` identity and selection, to send only a `select` when only that changed. */
  private sent: { key: string; axis: XAxis; selectedId: string } | undefined;
  private busy = false;
  private readonly rendered = new vscode.EventEmitter<ParetoRenderReport>();
  private readonly disposables: vscode.Disposable[] = [this.rendered];
  private lastReport: ParetoRenderReport | undefined;

  /** Fires with the webview's report after each render. */
  readonly onDidRender = this.rendered.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly results: SearchResults, private readonly memento: vscode.Memento, private readonly log?: vscode.LogOutputChannel) {
    this.disposables.push(results.onDidChange((uri) => {
      this.modelUri ??= uri;
      this.sendState();
    }));
  }

  /** The webview's last render report (undefined before its first render). */
  get lastRender(): ParetoRenderReport | undefined {
    return this.lastReport;
  }

  /** Called by VS Code when the view becomes visible (again, after its webview was dropped). */
  resolveWebviewView(view: vscode.WebviewView): void {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    this.view = view;
    this.ready = false;
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = paretoHtml(view.webview, dist);
    // Hidden, the page is dropped (not retained); shown again, it reloads and says `ready` again, and
    // is answered with the whole state: whatever was posted to it meanwhile is superseded.
    const subscription = view.webview.onDidReceiveMessage((message: unknown) => this.receive(message));
    view.onDidDispose(() => {
      subscription.dispose();
      if (this.view === view) {
        this.view = undefined;
        this.ready = false;
      }
    });
  }

  /** Shows the view, with a model's result when given. */
  async show(modelUri?: vscode.Uri): Promise<void> {
    if (modelUri) {
      if (!this.results.get(modelUri)) void vscode.window.showInformationMessage(`${vscode.workspace.asRelativePath(modelUri)} has no search result yet: run "HALOC: Compress Model..." on it first.`);
      else this.modelUri = modelUri;
    }
    await vscode.commands.executeCommand(`${PARETO_VIEW_ID}.focus`);
    this.sendState();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private readonly handlers: MessageHandlers<WebviewMessage> = {
    ready: () => {
      this.ready = true;
      this.sent = undefined;
      // Nothing was posted before `ready`: every message carries state, so the whole state now
      // replaces a queue (and a page reloaded during a compression learns that it runs).
      this.sendState();
      if (this.busy) this.post({ type: 'busy', busy: true });
    },
    select: (m) => {
      if (this.sent) this.sent = { ...this.sent, selectedId: m.pointId };
      this.results.select(vscode.Uri.parse(m.model), m.pointId);
    },
    compress: (m) => void this.compress(vscode.Uri.parse(m.model), m.pointId, m.confirm),
    axis: (m) => {
      void this.memento.update(AXIS_KEY, m.axis);
      if (this.sent) this.sent = { ...this.sent, axis: m.axis };
    },
    model: (m) => {
      this.modelUri = vscode.Uri.parse(m.model);
      this.sendState();
    },
    runSearch: () => void vscode.commands.executeCommand('haloc.compressModel'),
    rendered: (m) => {
      this.lastReport = { model: m.model, points: m.points, selectedId: m.selectedId, axis: m.axis };
      this.rendered.fire(this.lastReport);
    },
  };

  private receive(message: unknown): void {
    if (isWebviewMessage(message)) dispatch(this.handlers, message);
    else this.log?.warn(`Pareto explorer: ignored an unknown message from the webview: ${JSON.stringify(message)?.slice(0, 200)}`);
  }

  private post(message: HostMessage): void {
    // Before `ready` nothing is posted: the page could not receive it, and `ready` gets the whole state.
    if (this.ready && this.view) void this.view.webview.postMessage(message);
  }

  /** Posts what the panel should show now: a `select` when only the selection changed, else the whole result. */
  private sendState(): void {
    if (!this.ready) return;
    const all = this.results.all();
    const shown = this.current(all);
    if (!shown) {
      if (this.sent?.key !== 'empty') this.post({ type: 'empty' });
      this.sent = { key: 'empty', axis: 'latency', selectedId: '' };
      return;
    }
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const panelModel = (r: ShownResult): PanelModel => ({ uri: r.modelUri.toString(), label: modelLabel(r.modelUri.fsPath, folders) });
    const models = all.map(panelModel).sort((a, b) => a.label.localeCompare(b.label));
    const axis = this.memento.get<XAxis>(AXIS_KEY, 'latency');
    const key = `${shown.modelUri.toString()}|${shown.search.createdAt}|${shown.stale}|${models.map((m) => m.uri).join(',')}`;
    if (this.sent?.key === key && this.sent.axis === axis) {
      if (this.sent.selectedId !== shown.selectedId) this.post({ type: 'select', model: shown.modelUri.toString(), pointId: shown.selectedId });
    } else {
      this.post(showMessage(panelModel(shown), models, shown, axis));
    }
    this.sent = { key, axis, selectedId: shown.selectedId };
  }

  /** The result to show: the chosen model's, else the first model's that has one. */
  private current(all: readonly ShownResult[]): ShownResult | undefined {
    const chosen = this.modelUri ? this.results.get(this.modelUri) : undefined;
    const shown = chosen ?? all[0];
    this.modelUri = shown?.modelUri;
    return shown;
  }

  private async compress(modelUri: vscode.Uri, pointId: string, confirm: boolean): Promise<void> {
    const point = this.results.get(modelUri)?.points.find((p) => p.id === pointId);
    if (!point) {
      void vscode.window.showErrorMessage(`The Pareto explorer's point ${pointId} is no longer in the result of ${vscode.workspace.asRelativePath(modelUri)}: run the search again.`);
      return;
    }
    if (this.busy) {
      void vscode.window.showInformationMessage('A compression from the Pareto explorer is already running.');
      return;
    }
    if (confirm) {
      const answer = await vscode.window.showInformationMessage(`Compress ${vscode.workspace.asRelativePath(modelUri)} to ${point.name} (${(100 * point.macsReduction).toFixed(1)}% fewer MACs)?`, { modal: true, detail: 'The compressed model is written next to the original, which is not modified.' }, 'Compress');
      if (answer !== 'Compress') return;
    }
    this.busy = true;
    this.post({ type: 'busy', busy: true });
    try {
      await vscode.commands.executeCommand('haloc.compressToPoint', modelUri, pointId);
    } catch (e) {
      void vscode.window.showErrorMessage(`Compressing to ${point.name} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.busy = false;
      this.post({ type: 'busy', busy: false });
    }
  }
}

/** The registered view and its command. */
export interface ParetoRegistration extends vscode.Disposable {
  readonly view: ParetoView;
}

/** Registers the Pareto explorer view and `haloc.showParetoExplorer`. */
export function registerParetoView(context: vscode.ExtensionContext, results: SearchResults, log?: vscode.LogOutputChannel): ParetoRegistration {
  const view = new ParetoView(context.extensionUri, results, context.workspaceState, log);
  const disposables = [
    view,
    vscode.window.registerWebviewViewProvider(PARETO_VIEW_ID, view, { webviewOptions: { retainContextWhenHidden: false } }),
    vscode.commands.registerCommand('haloc.showParetoExplorer', (modelUri?: unknown) => view.show(modelUri instanceof vscode.Uri ? modelUri : undefined)),
  ];
  return { view, dispose: () => disposables.forEach((d) => d.dispose()) };
}
