// Integration suite: runs inside the VS Code extension host against a workspace holding
// resnet20-cifar10.onnx, mnist-8.onnx and nested/small.onnx (a copy of mnist-8), prepared by the runner.
// Runner-agnostic: the workspace comes from $HALOC_TEST_WORKSPACE, else the first workspace folder.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'haloc-dev.haloc';
const COMMANDS = ['haloc.openModelText', 'haloc.revealLayer', 'haloc.refreshModels'];

/** The API object that the extension's activate() returns. */
interface HalocApi {
  modelsView: vscode.TreeDataProvider<unknown>;
}

/** A tree node together with its TreeItem. */
interface Node {
  element: unknown;
  item: vscode.TreeItem;
}

// Retries `probe` until it returns without throwing; on timeout throws its last error, prefixed with `what`.
async function eventually<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (e) {
      if (Date.now() > deadline) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${msg}`);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

function descriptionOf(item: vscode.TreeItem): string {
  return typeof item.description === 'string' ? item.description : '';
}

// "Conv · 1.77M MACs · 432 params" -> "Conv"
function opOf(item: vscode.TreeItem): string {
  return (descriptionOf(item).split('·')[0] ?? '').trim();
}

// Parses the MAC count out of a description such as "40.6M MACs · 0.27M params"; NaN when absent.
function macsOf(item: vscode.TreeItem): number {
  const m = /([\d.]+)\s*([kKMGT]?)\s*MACs/.exec(descriptionOf(item));
  if (!m) return NaN;
  const scale: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (scale[m[2] ?? ''] ?? 1);
}

// All .onnx files under `dir`, as '/'-separated relative paths, sorted.
function onnxFilesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...onnxFilesUnder(path.join(dir, e.name), rel));
    else if (e.name.endsWith('.onnx')) out.push(rel);
  }
  return out.sort();
}

describe('HALOC extension (integration)', function () {
  let ext: vscode.Extension<HalocApi>;
  let api: HalocApi;
  let activatedByWorkspace = false;
  let workspaceDir: string;

  async function children(element?: unknown): Promise<Node[]> {
    const elements = (await api.modelsView.getChildren(element)) ?? [];
    return Promise.all(elements.map(async (e) => ({ element: e, item: await api.modelsView.getTreeItem(e) })));
  }

  // The model roots, once the tree shows `count` of them.
  async function roots(count: number): Promise<Node[]> {
    return eventually(`${count} model(s) in the ONNX Models view`, async () => {
      const r = await children();
      assert.strictEqual(r.length, count, `roots: ${r.map((n) => labelOf(n.item)).join(', ') || '(none)'}`);
      return r;
    });
  }

  // The root node of the model file `rel` (relative to the workspace), then its layer nodes.
  async function modelAndLayers(rel: string): Promise<{ model: Node; layers: Node[] }> {
    const all = await roots(onnxFilesUnder(workspaceDir).length);
    const file = path.join(workspaceDir, rel);
    const model = all.find((n) => n.item.resourceUri?.fsPath === file);
    assert.ok(model, `no root node has resourceUri ${file}`);
    const layers = await eventually(`the layers of ${rel}`, async () => {
      const c = await children(model.element);
      assert.ok(c.length > 0, 'no layer nodes yet');
      return c;
    });
    return { model, layers };
  }

  // Waits until the active editor shows the HALOC text view of a model; returns it.
  function textEditor(): Promise<vscode.TextEditor> {
    return eventually('the active editor to be the ONNX text view', () => {
      const ed = vscode.window.activeTextEditor;
      assert.ok(ed, 'no active text editor');
      assert.strictEqual(ed.document.uri.scheme, 'haloc-onnx', `active editor is ${ed.document.uri.toString()}`);
      return ed;
    });
  }

  before(async function () {
    this.timeout(90000);
    const found = vscode.extensions.getExtension<HalocApi>(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is not installed in this VS Code`);
    ext = found;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const dir = process.env.HALOC_TEST_WORKSPACE ?? folder;
    assert.ok(dir, 'no workspace: set HALOC_TEST_WORKSPACE or open a folder');
    workspaceDir = dir;
    // workspaceContains:**/*.onnx should activate it without our help.
    activatedByWorkspace = await eventually('activation', () => assert.ok(ext.isActive), 30000).then(() => true, () => false);
    api = await ext.activate();
  });

  it('activates on a workspace containing .onnx files and returns its API', function () {
    assert.ok(activatedByWorkspace, 'the extension was not activated by workspaceContains:**/*.onnx within 30 s');
    assert.ok(api && typeof api.modelsView?.getChildren === 'function', 'activate() must return { modelsView: TreeDataProvider }');
    assert.strictEqual(typeof api.modelsView.getTreeItem, 'function', 'modelsView.getTreeItem is missing');
  });

  it('contributes the HALOC container, the ONNX Models view and its commands', async function () {
    const contributes = (ext.packageJSON as { contributes?: Record<string, unknown> }).contributes ?? {};
    const containers = (contributes.viewsContainers as { activitybar?: { id: string }[] } | undefined)?.activitybar ?? [];
    assert.ok(containers.some((c) => c.id === 'haloc'), 'no activity-bar view container with id "haloc"');
    const views = (contributes.views as Record<string, { id: string }[]> | undefined)?.haloc ?? [];
    assert.ok(views.some((v) => v.id === 'haloc.models'), 'no view "haloc.models" in the "haloc" container');
    const all = await vscode.commands.getCommands(true);
    for (const c of COMMANDS) assert.ok(all.includes(c), `command ${c} is not registered`);
  });

  it('lists one root per .onnx file, sorted by relative path', async function () {
    const files = onnxFilesUnder(workspaceDir);
    assert.ok(files.length >= 3, `the runner should have put 3 models in ${workspaceDir}, found ${files.join(', ')}`);
    const r = await roots(files.length);
    r.forEach((n, i) => {
      const rel = files[i] ?? '';
      const where = `root #${i} (expected ${rel})`;
      assert.strictEqual(labelOf(n.item), path.posix.basename(rel), `${where}: label`);
      assert.strictEqual(n.item.resourceUri?.fsPath, path.join(workspaceDir, rel), `${where}: resourceUri`);
      assert.strictEqual(n.item.contextValue, 'haloc.model', `${where}: contextValue`);
      assert.strictEqual(n.item.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed, `${where}: collapsibleState`);
      assert.ok(macsOf(n.item) > 0, `${where}: description "${descriptionOf(n.item)}" has no "<n> MACs"`);
    });
  });

  it('shows ResNet-20 as 19 Conv + 1 Gemm compressible layers, ~40.55M MACs', async function () {
    const { model, layers } = await modelAndLayers('resnet20-cifar10.onnx');
    const ops = layers.map((l) => opOf(l.item));
    assert.strictEqual(layers.length, 20, `layers: ${ops.join(', ')}`);
    assert.strictEqual(ops.filter((o) => o === 'Conv').length, 19, `ops: ${ops.join(', ')}`);
    assert.strictEqual(ops.filter((o) => o === 'Gemm').length, 1, `ops: ${ops.join(', ')}`);
    assert.strictEqual(ops[19], 'Gemm', 'the Gemm (classifier) should come last, in graph order');
    const total = macsOf(model.item);
    assert.ok(Math.abs(total / 40.55e6 - 1) < 0.01, `total MACs ${total} ("${descriptionOf(model.item)}") not within 1% of 40.55M`);
    const sum = layers.reduce((s, l) => s + macsOf(l.item), 0);
    assert.ok(Math.abs(sum / 40.55e6 - 1) < 0.01, `sum of layer MACs ${sum} not within 1% of 40.55M`);
    for (const [i, l] of layers.entries()) {
      const name = labelOf(l.item);
      const where = `layer #${i} "${name}"`;
      assert.ok(name.length > 0, `${where}: empty label`);
      assert.strictEqual(l.item.contextValue, 'haloc.layer.compressible', `${where}: contextValue`);
      assert.ok(l.item.tooltip, `${where}: no tooltip`);
      assert.strictEqual(l.item.command?.command, 'haloc.revealLayer', `${where}: command`);
      const args = l.item.command?.arguments ?? [];
      assert.strictEqual(String(args[0]), model.item.resourceUri?.toString(), `${where}: command argument 0 (model Uri)`);
      assert.strictEqual(args[1], name, `${where}: command argument 1 (layer name)`);
    }
  });

  it('shows mnist-8 with its 2 Conv layers and its MatMul, in graph order', async function () {
    const { layers } = await modelAndLayers('mnist-8.onnx');
    const ops = layers.map((l) => opOf(l.item));
    // Other layers with parameters (its bias Adds) may be listed too.
    const heavy = ops.filter((o) => ['Conv', 'Gemm', 'MatMul'].includes(o));
    assert.deepStrictEqual(heavy, ['Conv', 'Conv', 'MatMul'], `ops: ${ops.join(', ')}`);
    for (const l of layers) {
      assert.match(l.item.contextValue ?? '', /^haloc\.layer\.(compressible|notCompressible)$/, `${labelOf(l.item)}: contextValue`);
    }
  });

  it('haloc.openModelText opens the model in ONNX textual syntax, read-only', async function () {
    const { model } = await modelAndLayers('resnet20-cifar10.onnx');
    await vscode.commands.executeCommand('haloc.openModelText', model.item.resourceUri);
    const ed = await textEditor();
    const doc = ed.document;
    assert.strictEqual(doc.languageId, 'onnx-text', 'languageId of the text view');
    const text = doc.getText();
    const lines = text.split(/\r?\n/);
    // The model header: `<ir_version: 7, ...>` on one line, or `<` and `>` lines around its entries.
    assert.match(text, /^\s*<[^>]*\bir_version\b[^>]*>/m, 'no "<" header with ir_version');
    assert.ok(lines.some((l) => l.includes('=>') && /\binput\b/.test(l)), 'no graph header line "(... input) => (...)"');
    assert.ok(text.includes('Conv (') || text.includes('= Conv'), 'no Conv node in the text');
    // Read-only: a TextDocumentContentProvider (undefined here) or a read-only FileSystemProvider (false).
    // (applyEdit cannot tell: it changes even a content provider's document in memory.)
    assert.notStrictEqual(vscode.workspace.fs.isWritableFileSystem('haloc-onnx'), true, 'the haloc-onnx scheme is writable');
  });

  it('haloc.revealLayer selects the line of the layer (first and last layer)', async function () {
    const { layers } = await modelAndLayers('resnet20-cifar10.onnx');
    for (const l of [layers[0], layers[layers.length - 1]]) {
      assert.ok(l?.item.command, 'layer node without a command');
      const name = labelOf(l.item);
      // An unnamed node is labelled `op#index`; its line carries that label in its `#` comment.
      const onLine = (line: string) => line.includes(name);
      await vscode.commands.executeCommand(l.item.command.command, ...(l.item.command.arguments ?? []));
      await eventually(`the selection on the line of layer "${name}"`, async () => {
        const ed = await textEditor();
        const line = ed.document.lineAt(ed.selection.active.line).text;
        assert.ok(onLine(line), `line ${ed.selection.active.line + 1} is "${line}"`);
      }, 15000);
    }
  });

  it('haloc.refreshModels re-scans the workspace', async function () {
    const before = onnxFilesUnder(workspaceDir).length;
    const added = path.join(workspaceDir, 'zz-added-by-test.onnx');
    fs.copyFileSync(path.join(workspaceDir, 'mnist-8.onnx'), added);
    try {
      await vscode.commands.executeCommand('haloc.refreshModels');
      const r = await roots(before + 1);
      assert.ok(r.some((n) => n.item.resourceUri?.fsPath === added), 'the added model is not in the view after refresh');
    } finally {
      fs.rmSync(added, { force: true });
    }
    await vscode.commands.executeCommand('haloc.refreshModels');
    await roots(before);
  });
});
