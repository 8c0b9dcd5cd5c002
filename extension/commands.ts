// The command table: every command the extension contributes, with its handler.
import * as vscode from 'vscode';
import { onnxTextUri } from '../language/onnxTextDocuments';
import type { ModelStore } from './modelStore';
import type { ModelsTreeProvider } from './modelsTree';

/** What command handlers may use. */
export interface CommandContext {
  readonly store: ModelStore;
  readonly tree: ModelsTreeProvider;
  readonly log: vscode.LogOutputChannel;
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

/** A model Uri from a command argument (explorer / tree passes a Uri), else the active .onnx file. */
function modelUriArgument(argument: unknown): vscode.Uri | undefined {
  if (argument instanceof vscode.Uri) return argument;
  if (typeof argument === 'string') return vscode.Uri.file(argument);
  const active = vscode.window.activeTextEditor?.document.uri ?? vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return active instanceof vscode.Uri && active.path.endsWith('.onnx') ? active : undefined;
}
