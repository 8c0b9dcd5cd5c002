// The search results the editor shows, per model: the last result of each model (kept on disk, keyed
// by the model file's content hash and the job settings, so reopening VS Code shows it without
// searching again), whether the model changed since (stale), and the point the user selected, which
// the Pareto explorer, the inline hints and the plan-file diagnostics all follow.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resultPoints, type LayerView, type ResultPoint, type SearchResultFile } from '../engine/search/resultView';

/** A search's outcome as the worker returns it and the store keeps it. */
export interface ModelSearch {
  readonly result: SearchResultFile;
  readonly layers: readonly LayerView[];
  /** The settings of the job, in words (shown with the result). */
  readonly settingsLabel: string;
  readonly createdAt: string;
}

/** A model's shown results. */
export interface ShownResult {
  readonly modelUri: vscode.Uri;
  readonly search: ModelSearch;
  readonly points: readonly ResultPoint[];
  /** The selected point's id (default: the budget's point, else the front's first). */
  readonly selectedId: string;
  /** True when the model file changed after the search (its content hash differs). */
  readonly stale: boolean;
  /** The key of the job settings the result was searched with (the JSON of the search job's settings). */
  readonly settingsKey: string;
}

interface CacheIndexEntry {
  readonly modelPath: string;
  readonly contentHash: string;
  readonly settingsKey: string;
  readonly file: string;
  readonly selectedId?: string;
}

/** The results of every model that has one, persisted under `storageDir`. */
export class SearchResults implements vscode.Disposable {
  private readonly shown = new Map<string, ShownResult>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private index: CacheIndexEntry[];

  /** Fires with a model's Uri when its result, its selection or its staleness changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly storageDir: string) {
    this.index = readIndex(storageDir);
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
    this.disposables.push(watcher, watcher.onDidChange((uri) => this.recheck(uri)), watcher.onDidDelete((uri) => this.recheck(uri)), watcher.onDidCreate((uri) => this.recheck(uri)));
  }

  /** The shown result of a model (restored from disk on first use), or undefined. */
  get(modelUri: vscode.Uri): ShownResult | undefined {
    const key = modelUri.fsPath;
    const known = this.shown.get(key);
    if (known) return known;
    const entry = [...this.index].reverse().find((e) => e.modelPath === key);
    if (!entry) return undefined;
    const search = readJson<ModelSearch>(path.join(this.storageDir, entry.file));
    if (!search) return undefined;
    const restored = this.make(modelUri, search, entry.selectedId, contentHash(key) !== entry.contentHash, entry.settingsKey);
    this.shown.set(key, restored);
    return restored;
  }

  /** Every model with a shown result. */
  all(): ShownResult[] {
    for (const entry of this.index) this.get(vscode.Uri.file(entry.modelPath));
    return [...this.shown.values()];
  }

  /** The cached search of a model for exactly these settings, when the model is unchanged. */
  cached(modelUri: vscode.Uri, settingsKey: string): ModelSearch | undefined {
    const hash = contentHash(modelUri.fsPath);
    const entry = this.index.find((e) => e.modelPath === modelUri.fsPath && e.settingsKey === settingsKey && e.contentHash === hash);
    return entry ? readJson<ModelSearch>(path.join(this.storageDir, entry.file)) : undefined;
  }

  /** Stores a finished search of a model (hash of the file as it was searched) and shows it. */
  put(modelUri: vscode.Uri, settingsKey: string, hash: string, search: ModelSearch): ShownResult {
    fs.mkdirSync(this.storageDir, { recursive: true });
    const file = `${createHash('sha256').update(`${modelUri.fsPath}|${settingsKey}`).digest('hex').slice(0, 24)}.json`;
    const temporary = path.join(this.storageDir, `${file}.tmp-${process.pid}`);
    fs.writeFileSync(temporary, JSON.stringify(search));
    fs.renameSync(temporary, path.join(this.storageDir, file));
    this.index = [...this.index.filter((e) => !(e.modelPath === modelUri.fsPath && e.settingsKey === settingsKey)), { modelPath: modelUri.fsPath, contentHash: hash, settingsKey, file }];
    this.writeIndex();
    const shown = this.make(modelUri, search, undefined, contentHash(modelUri.fsPath) !== hash, settingsKey);
    this.shown.set(modelUri.fsPath, shown);
    this.changed.fire(modelUri);
    return shown;
  }

  /** Selects a point of a model's result (ignored when the id is unknown). */
  select(modelUri: vscode.Uri, pointId: string): void {
    const current = this.get(modelUri);
    if (!current || current.selectedId === pointId || !current.points.some((p) => p.id === pointId)) return;
    this.shown.set(modelUri.fsPath, { ...current, selectedId: pointId });
    this.index = this.index.map((e) => (e.modelPath === modelUri.fsPath && e.file === this.fileOf(modelUri) ? { ...e, selectedId: pointId } : e));
    this.writeIndex();
    this.changed.fire(modelUri);
  }

  /** The selected point of a model's result. */
  selectedPoint(modelUri: vscode.Uri): ResultPoint | undefined {
    const shown = this.get(modelUri);
    return shown?.points.find((p) => p.id === shown.selectedId);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private make(modelUri: vscode.Uri, search: ModelSearch, selectedId: string | undefined, stale: boolean, settingsKey: string): ShownResult {
    const points = resultPoints(search.result);
    const budgetChoice = search.result.mode === 'fast' && search.result.budget?.chosen !== null && search.result.budget?.chosen !== undefined ? `front:${search.result.budget.chosen}` : undefined;
    const selected = [selectedId, budgetChoice, points[0]?.id].find((id) => id !== undefined && points.some((p) => p.id === id)) ?? '';
    return { modelUri, search, points, selectedId: selected, stale, settingsKey };
  }

  private fileOf(modelUri: vscode.Uri): string | undefined {
    return [...this.index].reverse().find((e) => e.modelPath === modelUri.fsPath)?.file;
  }

  private recheck(modelUri: vscode.Uri): void {
    const current = this.shown.get(modelUri.fsPath);
    const entry = [...this.index].reverse().find((e) => e.modelPath === modelUri.fsPath);
    if (!current || !entry) return;
    const stale = contentHash(modelUri.fsPath) !== entry.contentHash;
    if (stale === current.stale) return;
    this.shown.set(modelUri.fsPath, { ...current, stale });
    this.changed.fire(modelUri);
  }

  private writeIndex(): void {
    const file = path.join(this.storageDir, 'index.json');
    fs.writeFileSync(`${file}.tmp-${process.pid}`, JSON.stringify(this.index));
    fs.renameSync(`${file}.tmp-${process.pid}`, file);
  }
}

/** SHA-256 of a file's content ('missing' when it cannot be read); a file version already hashed is not read again. */
export function contentHash(filePath: string): string {
  try {
    const stat = fs.statSync(filePath);
    const known = hashMemo.get(filePath);
    if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs && known.ino === stat.ino) return known.hash;
    const hash = createHash('sha256').update(fs.readFileSync(filePath)).digest('hex');
    hashMemo.set(filePath, { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, hash });
    return hash;
  } catch {
    return 'missing';
  }
}

/** The hash of each file version seen (size, modification time and inode unchanged: not read again). */
const hashMemo = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly ino: number; readonly hash: string }>();

function readIndex(storageDir: string): CacheIndexEntry[] {
  return readJson<CacheIndexEntry[]>(path.join(storageDir, 'index.json')) ?? [];
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
