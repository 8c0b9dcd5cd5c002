// Per-model inspection results (analysis + text view), computed in the engine worker, reused while the
// file is unchanged (same size and mtime, same settings), and dropped when the file changes.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { AnalysisSettings } from '../engine/graph/analyzeModel';
import type { ModelInspection } from '../engine/worker/protocol';
import type { EngineClient } from './engineClient';

interface Entry {
  readonly stamp: string;
  readonly inspection: Promise<ModelInspection>;
}

/** Inspections of the workspace's models, keyed by file path. */
export class ModelStore implements vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri | undefined>();
  private readonly disposables: vscode.Disposable[] = [this.changed];

  /** Fires with a model's Uri when its results are stale, or undefined when all are. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly engine: EngineClient,
    private readonly settings: () => AnalysisSettings,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
    this.disposables.push(watcher, watcher.onDidChange((uri) => this.invalidate(uri)), watcher.onDidCreate(() => this.invalidate()), watcher.onDidDelete((uri) => this.invalidate(uri)));
  }

  /** The inspection of a model file (cached while the file and settings are unchanged). */
  inspect(modelUri: vscode.Uri): Promise<ModelInspection> {
    const settings = this.settings();
    const stamp = `${fileStamp(modelUri.fsPath)}|${JSON.stringify(settings)}`;
    const cached = this.entries.get(modelUri.fsPath);
    if (cached && cached.stamp === stamp) return cached.inspection;
    const inspection = this.engine.run('inspect', { modelPath: modelUri.fsPath, settings });
    this.entries.set(modelUri.fsPath, { stamp, inspection });
    inspection.catch(() => this.entries.get(modelUri.fsPath)?.inspection === inspection && this.entries.delete(modelUri.fsPath));
    return inspection;
  }

  /** Drops the results of one model, or of all. */
  invalidate(modelUri?: vscode.Uri): void {
    if (modelUri) this.entries.delete(modelUri.fsPath);
    else this.entries.clear();
    this.changed.fire(modelUri);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function fileStamp(filePath: string): string {
  try {
    const stat = fs.statSync(filePath);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
