// The read-only ONNX text view: a virtual document (scheme `haloc-onnx`) per model file, coloured by
// the `onnx-text` TextMate grammar. The text comes from the engine through a callback.
import * as vscode from 'vscode';

/** URI scheme of the text views. */
export const onnxTextScheme = 'haloc-onnx';
const suffix = '.onnxtext';

/** The text-view Uri of a model file. */
export function onnxTextUri(modelUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.from({ scheme: onnxTextScheme, path: `${modelUri.path}${suffix}` });
}

/** The model file behind a text-view Uri. */
export function modelUriOf(textUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.file(textUri.path.endsWith(suffix) ? textUri.path.slice(0, -suffix.length) : textUri.path);
}

/** Provides the text of `haloc-onnx:` documents. */
export class OnnxTextProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly textOf: (modelUri: vscode.Uri) => Promise<string>) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    try {
      return await this.textOf(modelUriOf(uri));
    } catch (error) {
      return `# ${modelUriOf(uri).fsPath} cannot be shown: ${error instanceof Error ? error.message : String(error)}\n`;
    }
  }

  /** Re-reads the text view of a model (or of every open one). */
  refresh(modelUri?: vscode.Uri): void {
    for (const document of vscode.workspace.textDocuments) {
      if (document.uri.scheme !== onnxTextScheme) continue;
      if (!modelUri || modelUriOf(document.uri).fsPath === modelUri.fsPath) this.changed.fire(document.uri);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Registers the provider; the returned Disposable unregisters it. */
export function registerOnnxTextProvider(provider: OnnxTextProvider): vscode.Disposable {
  return vscode.Disposable.from(vscode.workspace.registerTextDocumentContentProvider(onnxTextScheme, provider), provider);
}
