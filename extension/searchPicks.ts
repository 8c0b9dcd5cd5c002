// The quick picks of "HALOC: Compress Model...", in order: target (this machine, each shipped analytic
// profile, or a latency table file), mode (fast preview or the full HALOC search), dataset (the
// remembered one, a folder or file, or none: the data-free preview) and latency budget. Escape at any
// step cancels the whole command.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { analyticProfiles } from '../engine/hardware/analyticProfiles';
import type { JobData } from '../engine/search/searchJob';
import { defaultMode, defaultPreprocessing, defaultTarget, type SearchChoices } from './jobSettings';
import { rememberedData } from './modelDataConfig';

interface Choice<T> extends vscode.QuickPickItem {
  readonly value: T;
}

const tableFile = Symbol('table file');
const chooseData = Symbol('choose a dataset');

/** Asks for every choice of a search of `modelUri`; undefined when the user cancelled. */
export async function pickSearchChoices(modelUri: vscode.Uri): Promise<SearchChoices | undefined> {
  const name = path.basename(modelUri.fsPath);
  const target = await pickTarget(modelUri, name);
  if (target === undefined) return undefined;
  const mode = await pick<'fast' | 'haloc'>(`HALOC: ${name} (2/4): search mode`, orderDefault([
    { label: '$(zap) Fast preview', description: 'seconds to minutes, no training', detail: 'Per-layer errors on calibration images, ranks allocated against the latency table; accuracy before fine-tuning.', value: 'fast' },
    { label: '$(beaker) Full HALOC search', description: 'trains: minutes to hours, needs a labelled dataset', detail: 'Supernet rank search, then fine-tuning by distillation and measurement of each budget\'s model.', value: 'haloc' },
  ], defaultMode(modelUri)));
  if (mode === undefined) return undefined;
  const data = await pickData(modelUri, name, mode);
  if (data === undefined) return undefined;
  const budget = await pickBudget(name, mode);
  if (budget === undefined) return undefined;
  return { target, mode, data, budget: budget === 'none' ? undefined : budget };
}

async function pickTarget(modelUri: vscode.Uri, name: string): Promise<string | undefined> {
  const items = orderDefault<string | typeof tableFile>([
    { label: '$(vm) This machine', description: 'latency measured here (onnxruntime, CPU)', detail: 'Builds (or reuses from the cache) this machine\'s latency table of every layer and rank.', value: 'this-machine' },
    ...analyticProfiles.map((p): Choice<string> => ({ label: `$(circuit-board) ${p.name}`, description: `${p.id} · estimated`, detail: p.source, value: p.id })),
    { label: '$(file) Latency table file...', description: 'a table measured on another device (haloc profile -o table.json)', value: tableFile },
  ], defaultTarget(modelUri));
  const configured = defaultTarget(modelUri);
  if (configured.endsWith('.json') && !items.some((i) => i.value === configured)) items.unshift({ label: `$(file) ${path.basename(configured)}`, description: 'haloc.target.default', value: configured });
  const chosen = await pick(`HALOC: ${name} (1/4): latency target`, items);
  if (chosen !== tableFile) return chosen;
  const files = await vscode.window.showOpenDialog({ title: 'HALOC: latency table file', canSelectMany: false, filters: { 'Latency table': ['json'] }, defaultUri: vscode.Uri.file(path.dirname(modelUri.fsPath)) });
  return files?.[0]?.fsPath;
}

/** The dataset: null for the data-free preview. */
async function pickData(modelUri: vscode.Uri, name: string, mode: 'fast' | 'haloc'): Promise<JobData | null | undefined> {
  const remembered = rememberedData(modelUri.fsPath);
  const items: Choice<JobData | null | typeof chooseData>[] = [
    ...(remembered ? [{ label: `$(folder) ${vscode.workspace.asRelativePath(remembered.path)}`, description: 'remembered in .haloc.json', value: remembered }] : []),
    { label: '$(folder-opened) Choose a folder...', description: 'labelled images: one sub-folder per class (or a .tar, .npy, .npz)', value: chooseData },
    ...(mode === 'fast' ? [{ label: '$(circle-slash) None: data-free preview (accuracy estimated)', description: 'synthetic images of the input shape', value: null }] : []),
  ];
  const chosen = await pick(`HALOC: ${name} (3/4): dataset`, items);
  if (chosen !== chooseData) return chosen;
  const picked = await vscode.window.showOpenDialog({ title: 'HALOC: dataset (an ImageFolder, or a .tar / .npy / .npz file)', canSelectFolders: true, canSelectFiles: true, canSelectMany: false, filters: { Datasets: ['tar', 'npy', 'npz'] }, defaultUri: vscode.Uri.file(path.dirname(modelUri.fsPath)) });
  const folder = picked?.[0]?.fsPath;
  if (!folder) return undefined;
  return { path: folder, preprocessing: remembered?.preprocessing ?? defaultPreprocessing(modelUri) };
}

/** A budget fraction, 'none' (fast mode: the whole front), or undefined when cancelled. */
async function pickBudget(name: string, mode: 'fast' | 'haloc'): Promise<number | 'none' | undefined> {
  const custom = -1;
  const items: Choice<number | 'none'>[] = [
    ...(mode === 'fast' ? [{ label: 'No budget', description: 'the whole accuracy / latency front', value: 'none' as const }] : []),
    ...[0.5, 0.6, 0.7, 0.8].map((f): Choice<number> => ({ label: `${Math.round(f * 100)}% of the original latency`, description: `${(1 / f).toFixed(2)}x faster`, value: f })),
    { label: 'Custom...', description: 'a fraction in (0, 1]', value: custom },
  ];
  const chosen = await pick(`HALOC: ${name} (4/4): latency budget`, items);
  if (chosen !== custom) return chosen;
  const text = await vscode.window.showInputBox({ title: 'HALOC: latency budget', prompt: 'Latency budget as a fraction of the original model\'s latency on the target (e.g. 0.65)', value: '0.65', validateInput: budgetProblem });
  return text === undefined ? undefined : Number(text);
}

/** Why a budget text is not valid, or undefined. */
export function budgetProblem(text: string): string | undefined {
  const value = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(value) && value > 0 && value <= 1 ? undefined : 'Give a fraction in (0, 1], e.g. 0.5 for half the original latency.';
}

async function pick<T>(title: string, items: readonly Choice<T>[]): Promise<T | undefined> {
  const chosen = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true, matchOnDescription: true });
  return chosen?.value;
}

/** The items with the configured default first, marked as such. */
function orderDefault<T>(items: Choice<T>[], preferred: unknown): Choice<T>[] {
  const index = items.findIndex((i) => i.value === preferred);
  if (index <= 0) return index === 0 ? [{ ...items[0]!, description: `${items[0]!.description ?? ''} · default`.replace(/^ · /, '') }, ...items.slice(1)] : items;
  const item = items[index]!;
  return [{ ...item, description: `${item.description ?? ''} · default` }, ...items.slice(0, index), ...items.slice(index + 1)];
}
