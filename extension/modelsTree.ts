// The "ONNX Models" view: the workspace's .onnx files, and under each its layers with MACs, params
// and whether they can be factorized. Selecting a model opens its text view; a layer reveals its line.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LayerAnalysis } from '../engine/graph/analyzeModel';
import { formatCount } from '../engine/format';
import { formatDims } from '../engine/graph/valueInfo';
import type { ModelStore } from './modelStore';

/** A node of the tree. */
export type ModelsTreeNode =
  | { readonly kind: 'model'; readonly uri: vscode.Uri }
  | { readonly kind: 'layer'; readonly uri: vscode.Uri; readonly layer: LayerAnalysis }
  | { readonly kind: 'message'; readonly uri: vscode.Uri; readonly text: string };

/** Tree data of the `haloc.models` view. */
export class ModelsTreeProvider implements vscode.TreeDataProvider<ModelsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ModelsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly store: ModelStore) {
    this.subscription = store.onDidChange(() => this.changed.fire(undefined));
  }

  /** Re-reads the list of models. */
  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: ModelsTreeNode): Promise<ModelsTreeNode[]> {
    if (!node) {
      const files = await vscode.workspace.findFiles('**/*.onnx', '**/{node_modules,.git}/**');
      return files.sort((a, b) => vscode.workspace.asRelativePath(a).localeCompare(vscode.workspace.asRelativePath(b))).map((uri) => ({ kind: 'model', uri }));
    }
    if (node.kind !== 'model') return [];
    try {
      const { analysis } = await this.store.inspect(node.uri);
      if (analysis.layers.length === 0) return [{ kind: 'message', uri: node.uri, text: 'no layers with MACs or parameters' }];
      return analysis.layers.map((layer) => ({ kind: 'layer', uri: node.uri, layer }));
    } catch (error) {
      return [{ kind: 'message', uri: node.uri, text: error instanceof Error ? error.message : String(error) }];
    }
  }

  async getTreeItem(node: ModelsTreeNode): Promise<vscode.TreeItem> {
    switch (node.kind) {
      case 'model':
        return this.modelItem(node.uri);
      case 'layer':
        return layerItem(node.uri, node.layer);
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.tooltip = node.text;
        item.contextValue = 'haloc.message';
        return item;
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }

  private async modelItem(uri: vscode.Uri): Promise<vscode.TreeItem> {
    const item = new vscode.TreeItem(path.basename(uri.fsPath), vscode.TreeItemCollapsibleState.Collapsed);
    item.resourceUri = uri;
    item.id = uri.toString();
    item.iconPath = new vscode.ThemeIcon('circuit-board');
    item.contextValue = 'haloc.model';
    item.command = { command: 'haloc.openModelText', title: 'Open ONNX Text View', arguments: [uri] };
    try {
      const { analysis } = await this.store.inspect(uri);
      const { totals, model } = analysis;
      item.description = `${formatCount(totals.macs)} MACs · ${formatCount(totals.params)} params`;
      item.tooltip = new vscode.MarkdownString(
        [
          `**${model.name}** — ${vscode.workspace.asRelativePath(uri)}`,
          `IR ${model.irVersion}, opset ${model.opsetVersion}${model.producer ? `, ${model.producer}` : ''}`,
          `inputs: ${model.inputs.map((i) => `\`${i.name} ${formatDims(i.shape)}\``).join(', ')} (batch ${model.batch})`,
          `${totals.layers} layers, ${totals.compressibleLayers} compressible; MACs counted by static shape inference (${model.shapeInference})`,
          ...model.notes,
        ].join('\n\n'),
      );
    } catch (error) {
      item.description = 'cannot be read';
      item.tooltip = error instanceof Error ? error.message : String(error);
    }
    return item;
  }
}

function layerItem(uri: vscode.Uri, layer: LayerAnalysis): vscode.TreeItem {
  const item = new vscode.TreeItem(layer.name, vscode.TreeItemCollapsibleState.None);
  item.id = `${uri.toString()}#${layer.nodeIndex}`;
  item.description = `${layer.op} · ${formatCount(layer.macs)} MACs · ${formatCount(layer.params)} params`;
  item.contextValue = layer.compressible ? 'haloc.layer.compressible' : 'haloc.layer.notCompressible';
  item.iconPath = layer.compressible ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')) : new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
  const verdict = layer.compressible
    ? `compressible by ${layer.decomposition === 'tucker2' ? 'Tucker-2' : 'SVD'}: exact at rank ${layer.maxRank}, fewer MACs up to rank ${layer.breakEvenRank}`
    : `not compressible: ${layer.reason}`;
  item.tooltip = new vscode.MarkdownString(
    [
      `**${layer.name}** (${layer.op})`,
      `input \`${formatDims(layer.inputShape ?? undefined)}\` → output \`${formatDims(layer.outputShape ?? undefined)}\`${layer.weightShape ? `, weight \`${formatDims(layer.weightShape)}\`` : ''}`,
      `${formatCount(layer.macs)} MACs, ${formatCount(layer.params)} params`,
      verdict,
      ...(layer.note ? [layer.note] : []),
    ].join('\n\n'),
  );
  item.command = { command: 'haloc.revealLayer', title: 'Reveal Layer', arguments: [uri, layer.name] };
  return item;
}
