// "Compress to this point" (`haloc.compressToPoint`, args: model Uri, point id; default the selected
// point): writes `<model>.haloc-<point>.onnx` beside the model (or into haloc.output.folder) in the
// engine worker, then a Markdown report beside it, which it opens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HalocError } from '../engine/errors';
import { writeFileAtomic } from '../engine/io/atomicWrite';
import { pointOutputPath, type CompressJobReport } from '../engine/search/compressJob';
import { compressReportMarkdown } from '../engine/search/compressReportMarkdown';
import type { SearchJobSettings } from '../engine/search/searchJob';
import type { SearchServices } from './compressModelCommand';
import { memoryLimit, outputFolder } from './jobSettings';
import { rememberedData } from './modelDataConfig';

/** What the command resolves with (undefined when cancelled). */
export interface CompressToPointOutcome {
  readonly report: CompressJobReport;
  readonly reportPath: string;
}

/** Writes the model of a point of `modelUri`'s search and opens its report. */
export async function compressToPoint(services: SearchServices, modelUri: vscode.Uri, pointId?: string): Promise<CompressToPointOutcome | undefined> {
  const name = path.basename(modelUri.fsPath);
  const shown = services.results.get(modelUri);
  if (!shown) throw new Error(`${name} has no search result yet: run "HALOC: Compress Model..." first`);
  if (shown.stale) throw new Error(`${name} changed since its search, so the point no longer describes it: run "HALOC: Compress Model..." again first`);
  const point = shown.points.find((p) => p.id === (pointId ?? shown.selectedId));
  if (!point) throw new Error(`${name}: the search has no point '${pointId ?? shown.selectedId}' (it has ${shown.points.map((p) => p.id).join(', ')})`);
  const search = searchSettingsOf(shown.settingsKey, modelUri);
  const folder = outputFolder(modelUri);
  if (folder) fs.mkdirSync(folder, { recursive: true });
  const outputPath = pointOutputPath(modelUri.fsPath, point.id, folder);
  const remembered = search.data ? undefined : labelledDataOf(services.log, modelUri);
  let report: CompressJobReport;
  try {
    report = await services.jobs.run('compress', {
      search, outputPath, point: { id: point.id, name: point.name, ranks: point.ranks, onnx: point.onnx }, ...(remembered ? { accuracyData: remembered } : {}), ...memoryLimit(),
    }, `HALOC: writing ${point.name} of ${name}`);
  } catch (error) {
    if (error instanceof HalocError && error.code === 'CANCELLED') {
      void vscode.window.showInformationMessage(`HALOC: writing ${point.name} of ${name} was cancelled; nothing was written.`);
      return undefined;
    }
    throw error;
  }
  const reportPath = outputPath.replace(/\.onnx$/, '.report.md');
  writeFileAtomic(reportPath, [Buffer.from(compressReportMarkdown(report, point, shown.search.settingsLabel), 'utf8')], [modelUri.fsPath, outputPath]);
  services.log.info(`${name}: wrote ${report.outputPath} (${point.name}) and its report ${reportPath}`);
  await showReport(vscode.Uri.file(reportPath));
  void vscode.window.showInformationMessage(`HALOC: wrote ${path.basename(report.outputPath)} (${point.name}).`, 'Reveal in Explorer').then((answer) => {
    if (answer) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(report.outputPath));
  });
  return { report, reportPath };
}

/** Opens the report rendered (the built-in Markdown preview), else as text where that preview is missing. */
async function showReport(reportUri: vscode.Uri): Promise<void> {
  if ((await vscode.commands.getCommands(true)).includes('markdown.showPreview')) {
    await vscode.commands.executeCommand('markdown.showPreview', reportUri);
    return;
  }
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(reportUri), { preview: true });
}

/** The search job's settings from a result's key (the JSON of those settings), checked to be of this model. */
function searchSettingsOf(settingsKey: string, modelUri: vscode.Uri): SearchJobSettings {
  let settings: Partial<SearchJobSettings> | undefined;
  try {
    settings = JSON.parse(settingsKey) as Partial<SearchJobSettings>;
  } catch {
    settings = undefined;
  }
  if (!settings || settings.modelPath !== modelUri.fsPath || (settings.mode !== 'fast' && settings.mode !== 'haloc') || !settings.fast || settings.data === undefined) {
    throw new Error(`the result shown for ${path.basename(modelUri.fsPath)} was not made by "HALOC: Compress Model..." in this workspace: run it to search again`);
  }
  return settings as SearchJobSettings;
}

/** The dataset remembered in .haloc.json (for the report's accuracy), or undefined; a malformed file is only logged here. */
function labelledDataOf(log: vscode.LogOutputChannel, modelUri: vscode.Uri): ReturnType<typeof rememberedData> {
  try {
    return rememberedData(modelUri.fsPath);
  } catch (error) {
    log.warn(`the report's accuracy: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}
