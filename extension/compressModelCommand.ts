// "HALOC: Compress Model...": the quick picks (or an options object, for scripts and tests), then the
// search in the engine worker, its result kept in SearchResults (keyed by the model's content hash
// and the job settings), so the same search of an unchanged model is shown again without running.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Preprocessing } from '../engine/data/preprocessing';
import { HalocError } from '../engine/errors';
import type { SearchJobSettings } from '../engine/search/searchJob';
import type { JobRunner } from './jobProgress';
import { defaultMode, defaultPreprocessing, defaultTarget, memoryLimit, searchJobSettings, settingsLabel, type SearchChoices } from './jobSettings';
import { rememberData, rememberedData } from './modelDataConfig';
import { pickSearchChoices } from './searchPicks';
import { contentHash, type SearchResults, type ShownResult } from './searchResults';

/** The command that opens the Pareto explorer of a model (registered by the explorer panel). */
export const showParetoExplorerCommand = 'haloc.showParetoExplorer';

/**
 * The optional second argument of `haloc.compressModel`: given, the quick picks are skipped and what is
 * absent comes from the settings. `dataset`: a folder or file, null for the data-free preview, absent
 * for the one remembered in `.haloc.json` (else data-free). `budget`: a fraction, null for none.
 * `calibration` / `points` override haloc.search.calibrationImages / haloc.search.frontPoints;
 * `searchAgain` ignores a cached result.
 */
export interface CompressModelOptions {
  readonly target?: string;
  readonly mode?: 'fast' | 'haloc';
  readonly dataset?: string | null;
  readonly preprocessing?: Preprocessing;
  readonly budget?: number | null;
  readonly calibration?: number;
  readonly points?: number;
  readonly searchAgain?: boolean;
}

/** What the command resolves with (undefined when cancelled). */
export interface CompressModelOutcome {
  readonly shown: ShownResult;
  readonly fromCache: boolean;
  readonly settingsKey: string;
}

/** What the command uses. */
export interface SearchServices {
  /** Runs engine jobs with progress (and cancels them). */
  readonly jobs: JobRunner;
  readonly log: vscode.LogOutputChannel;
  readonly results: SearchResults;
  readonly storageDir: string;
}

/** Runs (or restores) a search of `modelUri`. */
export async function compressModel(services: SearchServices, modelUri: vscode.Uri, options?: CompressModelOptions): Promise<CompressModelOutcome | undefined> {
  const choices = options ? choicesFromOptions(modelUri, options) : await pickSearchChoices(modelUri);
  if (!choices) return undefined;
  if (choices.data) remember(services.log, modelUri, choices.data);
  const base = searchJobSettings(modelUri, choices, services.storageDir);
  const settings: SearchJobSettings = { ...base, fast: { calibration: options?.calibration ?? base.fast.calibration, points: options?.points ?? base.fast.points } };
  return runSearch(services, modelUri, settings, options?.searchAgain === true);
}

async function runSearch(services: SearchServices, modelUri: vscode.Uri, settings: SearchJobSettings, searchAgain: boolean): Promise<CompressModelOutcome | undefined> {
  const { results, log } = services;
  const name = path.basename(modelUri.fsPath);
  const key = JSON.stringify(settings);
  const label = settingsLabel(settings);
  const cached = searchAgain ? undefined : results.cached(modelUri, key);
  if (cached) {
    const shown = results.put(modelUri, key, contentHash(modelUri.fsPath), cached);
    log.info(`${name}: showing the cached result of ${cached.createdAt} (${label}); the model is unchanged, nothing was searched`);
    void vscode.window.showInformationMessage(`HALOC: ${name}: showing the cached result (${label}) of an unchanged model; no search was needed.`, 'Show Pareto Explorer', 'Search Again').then((answer) => {
      if (answer === 'Show Pareto Explorer') showPareto(log, modelUri);
      if (answer === 'Search Again') void runSearch(services, modelUri, settings, true).catch((error: unknown) => reportError(log, error));
    });
    return { shown, fromCache: true, settingsKey: key };
  }
  const hash = contentHash(modelUri.fsPath);
  let job;
  try {
    job = await services.jobs.run('search', { settings, ...memoryLimit() }, `HALOC: searching ${name}`);
  } catch (error) {
    if (error instanceof HalocError && error.code === 'CANCELLED') {
      void vscode.window.showInformationMessage(`HALOC: the search of ${name} was cancelled; nothing was changed.`);
      return undefined;
    }
    throw error;
  }
  const shown = results.put(modelUri, key, hash, { result: job.result, layers: job.layers, settingsLabel: label, createdAt: new Date().toISOString() });
  const summary = resultSummary(shown);
  log.info(`${name}: ${summary} (${label})`);
  const changed = shown.stale ? ' The model file changed during the search: the result is marked stale.' : '';
  void vscode.window.showInformationMessage(`HALOC: ${name}: ${summary}.${changed}`, 'Show Pareto Explorer').then((answer) => {
    if (answer) showPareto(log, modelUri);
  });
  return { shown, fromCache: false, settingsKey: key };
}

/** The choices an options object gives, the rest from the settings. */
function choicesFromOptions(modelUri: vscode.Uri, options: CompressModelOptions): SearchChoices {
  const mode = options.mode ?? defaultMode(modelUri);
  const remembered = rememberedData(modelUri.fsPath);
  const data = options.dataset === null ? null : options.dataset !== undefined
    ? { path: path.resolve(path.dirname(modelUri.fsPath), options.dataset), preprocessing: options.preprocessing ?? remembered?.preprocessing ?? defaultPreprocessing(modelUri) }
    : (remembered ?? null);
  return { target: options.target ?? defaultTarget(modelUri), mode, data, budget: options.budget ?? undefined };
}

function remember(log: vscode.LogOutputChannel, modelUri: vscode.Uri, data: NonNullable<SearchChoices['data']>): void {
  try {
    rememberData(modelUri.fsPath, data);
  } catch (error) {
    log.warn(`could not remember the dataset of ${modelUri.fsPath} in .haloc.json: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The result in a few words. */
function resultSummary(shown: ShownResult): string {
  const result = shown.search.result;
  const front = shown.points.filter((p) => p.group === 'front');
  const best = front.reduce((m, p) => Math.max(m, p.speedup), 1);
  const kind = result.target.kind === 'estimated' ? 'estimated' : 'measured';
  return front.length === 0 ? `no factorization is faster on ${result.target.name}; ${shown.points.length} baseline point(s) measured` : `${front.length} front point(s), up to ${best.toFixed(2)}x faster on ${result.target.name} (${kind})`;
}

function showPareto(log: vscode.LogOutputChannel, modelUri: vscode.Uri): void {
  vscode.commands.executeCommand(showParetoExplorerCommand, modelUri).then(undefined, (error: unknown) => reportError(log, error));
}

function reportError(log: vscode.LogOutputChannel, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  log.error(message);
  void vscode.window.showErrorMessage(`HALOC: ${message}`);
}
