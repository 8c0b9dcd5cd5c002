// The command table: every command the extension contributes, with its handler.
import * as vscode from 'vscode';
import { onnxTextUri } from '../language/onnxTextDocuments';
import { compressModel, type CompressModelOptions, type SearchServices } from './compressModelCommand';
import { compressToPoint } from './compressToPointCommand';
import { cancelJobsCommand, showLogCommand } from './jobProgress';
import type { ModelStore } from './modelStore';
import type { ModelsTreeProvider } from './modelsTree';

/** What command handlers may use. */
export interface CommandContext {
  readonly store: ModelStore;
  readonly tree: ModelsTreeProvider;
  readonly log: vscode.LogOutputChannel;
  /** The engine worker, the results cache and the storage folder the search commands use. */
  readonly search: SearchServices;
}

type CommandHandler = (context: CommandContext, ...args: unknown[]) => unknown;

/** Command ids (package.json contributes the same ids) and their handlers. */
const commandTable: Record<string, CommandHandler> = {
  'haloc.refreshModels': ({ store, tree }) => {
    store.invalidate();
    tree.refresh();
  },
  'haloc.openModelText': async (_context, uri) => {
    const modelUri = modelUriArgument(uri);
    if (!modelUri) return void vscode.window.showWarningMessage('HALOC: select an .onnx file to open its text view.');
    await showModelText(modelUri);
  },
  'haloc.revealLayer': async ({ store }, uri, layerName) => {
    const modelUri = modelUriArgument(uri);
    if (!modelUri || typeof layerName !== 'string') return;
    const [editor, inspection] = await Promise.all([showModelText(modelUri), store.inspect(modelUri)]);
    const layer = inspection.analysis.layers.find((l) => l.name === layerName);
    const line = layer ? inspection.modelText.nodeLines[layer.nodeIndex] : undefined;
    if (line === undefined) return void vscode.window.showWarningMessage(`HALOC: layer '${layerName}' is not in ${modelUri.fsPath}.`);
    const position = new vscode.Position(line, 0);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenter);
  },
  // Args: a model (Uri, path or tree node; default the active .onnx file, else a pick) and optionally
  // CompressModelOptions, which skip the quick picks (see compressModelCommand.ts). From the explorer's
  // context menu the second argument is the array of selected Uris: the quick picks are shown then.
  'haloc.compressModel': async ({ search }, uri, options) => {
    const modelUri = modelUriArgument(uri) ?? (await pickWorkspaceModel());
    if (!modelUri) return undefined;
    return compressModel(search, modelUri, typeof options === 'object' && options !== null && !Array.isArray(options) ? (options as CompressModelOptions) : undefined);
  },
  // Args: the model Uri (or path) and a point id of its shown result (default: the selected point).
  'haloc.compressToPoint': async ({ search }, uri, pointId) => {
    const modelUri = modelUriArgument(uri);
    if (!modelUri) return void vscode.window.showWarningMessage('HALOC: give the model whose point to write (run "HALOC: Compress Model..." first).');
    return compressToPoint(search, modelUri, typeof pointId === 'string' ? pointId : undefined);
  },
  [showLogCommand]: ({ log }) => log.show(true),
  [cancelJobsCommand]: ({ search }) => {
    const count = search.jobs.cancelAll();
    if (count === 0) void vscode.window.showInformationMessage('HALOC: no job is running.');
    return count;
  },
};

/** Registers every command of the table. */
export function registerCommands(context: CommandContext): vscode.Disposable {
  return vscode.Disposable.from(
    ...Object.entries(commandTable).map(([id, handler]) =>
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(context, ...args);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          context.log.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`HALOC: ${message}`);
          return undefined;
        }
      }),
    ),
  );
}

async function showModelText(modelUri: vscode.Uri): Promise<vscode.TextEditor> {
  let document = await vscode.workspace.openTextDocument(onnxTextUri(modelUri));
  if (document.languageId !== 'onnx-text') document = await vscode.languages.setTextDocumentLanguage(document, 'onnx-text');
  return vscode.window.showTextDocument(document, { preview: true });
}

/** A model Uri from a command argument (explorer passes a Uri, the models view its node), else the active .onnx file. */
function modelUriArgument(argument: unknown): vscode.Uri | undefined {
  if (argument instanceof vscode.Uri) return argument;
  if (typeof argument === 'string') return vscode.Uri.file(argument);
  const nodeUri = typeof argument === 'object' && argument !== null ? (argument as { uri?: unknown }).uri : undefined;
  if (nodeUri instanceof vscode.Uri) return nodeUri;
  // A binary .onnx file is open in a (custom or binary) editor tab whose input carries its Uri.
  const tabInput = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const tabUri = typeof tabInput === 'object' && tabInput !== null ? (tabInput as { uri?: unknown }).uri : undefined;
  const active = vscode.window.activeTextEditor?.document.uri ?? tabUri;
  return active instanceof vscode.Uri && active.path.endsWith('.onnx') ? active : undefined;
}

/** Asks for one of the workspace's .onnx files. */
async function pickWorkspaceModel(): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/*.onnx', '**/{node_modules,.git}/**');
  if (files.length === 0) return void vscode.window.showWarningMessage('HALOC: there is no .onnx file in this workspace to compress.');
  const items = files.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }));
  return (await vscode.window.showQuickPick(items, { title: 'HALOC: model to compress' }))?.uri;
}
