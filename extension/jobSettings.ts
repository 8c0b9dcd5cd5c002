// The `haloc.*` settings a search or compression reads (package.json describes each), and the search
// job settings they make together with what the quick picks chose.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Preprocessing } from '../engine/data/preprocessing';
import { preprocessingFromFlags } from '../engine/data/preprocessingArgs';
import type { JobData, SearchJobSettings } from '../engine/search/searchJob';

/** What the user chose for one search (quick picks, or the command's options argument). */
export interface SearchChoices {
  /** 'this-machine', an analytic profile id, or a latency table file. */
  readonly target: string;
  readonly mode: 'fast' | 'haloc';
  /** Null: the data-free preview. */
  readonly data: JobData | null;
  /** Latency budget as a fraction of the original; undefined: none (fast) / 0.5 (HALOC). */
  readonly budget: number | undefined;
}

/** The `haloc` configuration section for a model (resource-scoped settings follow its folder). */
function config(modelUri: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('haloc', modelUri);
}

/** haloc.target.default */
export function defaultTarget(modelUri: vscode.Uri): string {
  return config(modelUri).get<string>('target.default', 'this-machine') || 'this-machine';
}

/** haloc.search.mode.default */
export function defaultMode(modelUri: vscode.Uri): 'fast' | 'haloc' {
  return config(modelUri).get<string>('search.mode.default', 'fast') === 'haloc' ? 'haloc' : 'fast';
}

/** The preprocessing defaults of haloc.data.* (the CLI's flag parsers check them; a wrong value throws a message naming it). */
export function defaultPreprocessing(modelUri: vscode.Uri): Preprocessing {
  const c = config(modelUri);
  const text = (key: string): string | undefined => {
    const value = c.get<string>(key, '').trim();
    return value === '' ? undefined : value;
  };
  try {
    return preprocessingFromFlags({ size: text('data.size'), scale: text('data.scale'), mean: text('data.mean'), std: text('data.std'), layout: text('data.layout'), channelOrder: text('data.channelOrder') });
  } catch (error) {
    throw new Error(`the haloc.data settings: ${error instanceof Error ? error.message.replace(/--([a-z-]+)/g, (_m, flag: string) => `haloc.data.${flag === 'channel-order' ? 'channelOrder' : flag}`) : String(error)}`);
  }
}

/** The folder compressed models go to (haloc.output.folder; relative to the model's workspace folder), or undefined: beside the model. */
export function outputFolder(modelUri: vscode.Uri): string | undefined {
  const folder = config(modelUri).get<string>('output.folder', '').trim();
  if (folder === '') return undefined;
  if (path.isAbsolute(folder)) return folder;
  const root = vscode.workspace.getWorkspaceFolder(modelUri)?.uri.fsPath ?? path.dirname(modelUri.fsPath);
  return path.join(root, folder);
}

/** The job settings of a search of `modelUri` with these choices; `storageDir` holds the HALOC mode's work folders. */
export function searchJobSettings(modelUri: vscode.Uri, choices: SearchChoices, storageDir: string): SearchJobSettings {
  const c = config(modelUri);
  const granularity = c.get<number>('search.granularity', 0);
  const workKey = createHash('sha256').update(modelUri.fsPath).digest('hex').slice(0, 16);
  const budget = choices.budget ?? (choices.mode === 'haloc' ? 0.5 : undefined);
  return {
    modelPath: modelUri.fsPath,
    mode: choices.mode,
    target: choices.target,
    batch: Math.max(1, Math.floor(c.get<number>('latency.batch', 1))),
    threads: Math.max(0, Math.floor(c.get<number>('threads', 0))),
    ...(granularity > 0 ? { granularity: Math.floor(granularity) } : {}),
    ...(budget === undefined ? {} : { budget }),
    data: choices.data,
    ...(choices.data ? {} : { dataFreePreprocessing: defaultPreprocessing(modelUri) }),
    fast: { calibration: Math.max(1, Math.floor(c.get<number>('search.calibrationImages', 256))), points: Math.max(1, Math.floor(c.get<number>('search.frontPoints', 10))) },
    haloc: { searchEpochs: c.get<number>('search.epochs', 0.25), finetuneEpochs: c.get<number>('search.finetuneEpochs', 8) },
    workDir: path.join(storageDir, 'work', `${path.basename(modelUri.fsPath, '.onnx')}-${workKey}`),
  };
}

/** The settings of a search in words (shown with its result). */
export function settingsLabel(settings: SearchJobSettings): string {
  const target = settings.target.endsWith('.json') ? path.basename(settings.target) : settings.target;
  const data = settings.data ? path.basename(settings.data.path) : 'data-free (accuracy estimated)';
  const budget = settings.budget === undefined ? 'whole front' : `budget ${settings.budget} x latency`;
  return `${settings.mode === 'fast' ? 'fast preview' : 'HALOC search'} · ${target} · ${data} · ${budget}`;
}

/** haloc.limits.memoryMB as a job's memory limit (absent: the engine's default, three quarters of this machine's memory). */
export function memoryLimit(): { memoryLimitMb?: number } {
  const mb = vscode.workspace.getConfiguration('haloc.limits').get<number>('memoryMB', 0);
  return mb > 0 ? { memoryLimitMb: mb } : {};
}
