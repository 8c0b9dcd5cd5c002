// Activation: wires the engine worker, the model store, the ONNX Models view, the text view and the
// command table. Everything registered goes into context.subscriptions.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisSettings } from '../engine/graph/analyzeModel';
import { OnnxTextProvider, registerOnnxTextProvider } from '../language/onnxTextDocuments';
import { registerRankHints } from '../language/rankHints';
import { registerCommands } from './commands';
import { EngineClient } from './engineClient';
import { JobRunner, type RunningJob } from './jobProgress';
import { ModelStore } from './modelStore';
import { ModelsTreeProvider, type ModelsTreeNode } from './modelsTree';
import { registerParetoView, type ParetoView } from './paretoView';
import { SearchResults } from './searchResults';

/** What activate() returns: used by the integration tests and by other extensions. */
export interface HalocApi {
  readonly modelsView: vscode.TreeDataProvider<ModelsTreeNode>;
  /** The search results of every model (cached on disk, stale flag, selected point). */
  readonly results: SearchResults;
  /** The Pareto explorer view (its render reports are the integration tests' hook). */
  readonly pareto: ParetoView;
  /** The engine jobs running now (search, compression), with their latest progress message. */
  readonly jobs: { readonly running: readonly RunningJob[] };
}

/** Called by VS Code on the first activation event. */
export function activate(context: vscode.ExtensionContext): HalocApi {
  const log = vscode.window.createOutputChannel('HALOC', { log: true });
  const engine = new EngineClient(EngineClient.scriptIn(context.extensionPath), log, () => vscode.workspace.getConfiguration('haloc.limits').get<number>('engineHeapMB', 4096));
  const store = new ModelStore(engine, analysisSettings);
  const tree = new ModelsTreeProvider(store);
  const textProvider = new OnnxTextProvider(async (modelUri) => (await store.inspect(modelUri)).modelText.text);
  const storageDir = (context.storageUri ?? context.globalStorageUri).fsPath;
  const results = new SearchResults(path.join(storageDir, 'results'));
  const pareto = registerParetoView(context, results, log);
  const jobs = new JobRunner(engine, log);
  context.subscriptions.push(
    pareto,
    log,
    engine,
    jobs,
    store,
    tree,
    results,
    vscode.window.createTreeView('haloc.models', { treeDataProvider: tree, showCollapseAll: true }),
    registerOnnxTextProvider(textProvider),
    registerRankHints({ results, store }),
    store.onDidChange((uri) => textProvider.refresh(uri)),
    vscode.workspace.onDidChangeConfiguration((event) => event.affectsConfiguration('haloc.analysis') && store.invalidate()),
    registerCommands({ store, tree, log, search: { jobs, log, results, storageDir } }),
  );
  log.info('HALOC activated');
  return { modelsView: tree, results, pareto: pareto.view, jobs };
}

/** Nothing to do: every resource is in context.subscriptions. */
export function deactivate(): void {}

function analysisSettings(): AnalysisSettings {
  const config = vscode.workspace.getConfiguration('haloc.analysis');
  return { batch: config.get<number>('batch', 1), runtimeFallback: config.get<boolean>('runtimeShapeFallback', true) };
}
