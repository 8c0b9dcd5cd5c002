// Integration suite: runs inside the VS Code extension host against a workspace holding
// resnet20-cifar10.onnx, mnist-8.onnx and nested/small.onnx (a copy of mnist-8), prepared by the runner.
// Runner-agnostic: the workspace comes from $HALOC_TEST_WORKSPACE, else the first workspace folder.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CompressModelOutcome } from '../../extension/compressModelCommand';
import type { CompressToPointOutcome } from '../../extension/compressToPointCommand';
import type { SearchResults } from '../../extension/searchResults';
import { activateHaloc, assertReportShown, eventually, EXTENSION_ID } from './support';

const COMMANDS = ['haloc.openModelText', 'haloc.revealLayer', 'haloc.refreshModels'];

/** The API object that the extension's activate() returns. */
interface HalocApi {
  modelsView: vscode.TreeDataProvider<unknown>;
  results: SearchResults;
}

/** A tree node together with its TreeItem. */
interface Node {
  element: unknown;
  item: vscode.TreeItem;
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

/** What the Pareto explorer suite uses of the API. */
interface ParetoApi {
  results: {
    get(modelUri: vscode.Uri): { points: readonly { id: string }[]; selectedId: string; stale: boolean } | undefined;
    select(modelUri: vscode.Uri, pointId: string): void;
  };
  pareto: { onDidRender: vscode.Event<{ model: string | null; points: number; selectedId: string | null; axis: string }> };
}

type RenderReport = Parameters<Parameters<ParetoApi['pareto']['onDidRender']>[0]>[0];

describe('HALOC Pareto explorer (integration)', function () {
  this.timeout(300000);
  let api: ParetoApi;
  let ext: vscode.Extension<ParetoApi>;
  let model: vscode.Uri;

  // Resolves with the webview's next render report that satisfies `matches` (after `action` ran).
  async function nextRender(what: string, matches: (r: RenderReport) => boolean, action: () => Thenable<unknown> | void, timeoutMs = 60000): Promise<RenderReport> {
    let subscription: vscode.Disposable | undefined;
    let timer: NodeJS.Timeout | undefined;
    const seen: string[] = [];
    const report = new Promise<RenderReport>((resolve, reject) => {
      subscription = api.pareto.onDidRender((r) => {
        seen.push(JSON.stringify(r));
        if (matches(r)) resolve(r);
      });
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for the Pareto webview to render ${what}; it reported: ${seen.join(' ') || 'nothing'}`)), timeoutMs);
    });
    try {
      await action();
      return await report;
    } finally {
      subscription?.dispose();
      clearTimeout(timer);
    }
  }

  before(async function () {
    const found = vscode.extensions.getExtension<ParetoApi>(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is not installed in this VS Code`);
    ext = found;
    api = await ext.activate();
    assert.ok(api.results && api.pareto, 'activate() must return { results, pareto }');
    const dir = process.env.HALOC_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(dir, 'no workspace');
    model = vscode.Uri.file(path.join(dir, 'mnist-8.onnx'));
  });

  it('contributes its own activity-bar container with the Pareto Explorer webview view and its command', async function () {
    const contributes = (ext.packageJSON as { contributes?: Record<string, unknown> }).contributes ?? {};
    const containers = (contributes.viewsContainers as { activitybar?: { id: string }[] } | undefined)?.activitybar ?? [];
    assert.ok(containers.some((c) => c.id === 'haloc-pareto'), 'no activity-bar container "haloc-pareto"');
    const views = (contributes.views as Record<string, { id: string; type?: string }[]> | undefined)?.['haloc-pareto'] ?? [];
    assert.ok(views.some((v) => v.id === 'haloc.pareto' && v.type === 'webview'), 'no webview view "haloc.pareto" in "haloc-pareto"');
    assert.ok((await vscode.commands.getCommands(true)).includes('haloc.showParetoExplorer'), 'haloc.showParetoExplorer is not registered');
  });

  it('shows the front of a real fast search of mnist-8 in the webview', async function () {
    // A data-free fast search against the embedded-GPU profile: real, and quick (nothing is timed).
    await vscode.commands.executeCommand('haloc.compressModel', model, { mode: 'fast', target: 'embedded-gpu', dataset: null, budget: 0.6, calibration: 32, points: 5 });
    const shown = api.results.get(model);
    assert.ok(shown, 'haloc.compressModel left no result for mnist-8.onnx in api.results');
    assert.ok(shown.points.length >= 2, `the search gave ${shown.points.length} point(s)`);
    const report = await nextRender('the mnist-8 result', (r) => r.model === model.toString() && r.points === shown.points.length, () => vscode.commands.executeCommand('haloc.showParetoExplorer', model));
    assert.strictEqual(report.selectedId, shown.selectedId, 'the webview selected another point than SearchResults');
  });

  it('follows a selection made outside the panel (the one the inline hints follow)', async function () {
    const shown = api.results.get(model);
    const other = shown?.points.find((p) => p.id !== shown.selectedId);
    assert.ok(shown && other, 'no second point to select');
    const report = await nextRender(`the selection of ${other.id}`, (r) => r.selectedId === other.id, () => api.results.select(model, other.id));
    assert.strictEqual(report.model, model.toString());
  });

  it('comes back with the same result and selection after the view was hidden', async function () {
    const shown = api.results.get(model);
    assert.ok(shown);
    await vscode.commands.executeCommand('workbench.view.explorer');
    const report = await nextRender('after being shown again', (r) => r.model === model.toString(), () => vscode.commands.executeCommand('haloc.showParetoExplorer'));
    assert.strictEqual(report.selectedId, shown.selectedId);
    assert.strictEqual(report.points, shown.points.length);
  });
});

describe('HALOC search and compression (integration)', function () {
  this.timeout(300000);
  let api: HalocApi;
  let workspaceDir: string;
  let modelPath: string;
  let modelUri: vscode.Uri;
  let original: Buffer;
  let written: CompressToPointOutcome | undefined;
  // A light data-free fast search against an analytic profile: no latency measuring, no dataset.
  const options = { target: 'embedded-gpu', mode: 'fast', dataset: null, budget: null, calibration: 16, points: 3 };

  before(async function () {
    ({ api, workspaceDir } = await activateHaloc());
    modelPath = path.join(workspaceDir, 'mnist-8.onnx');
    modelUri = vscode.Uri.file(modelPath);
    original = fs.readFileSync(modelPath);
  });

  after(function () {
    if (original) fs.writeFileSync(modelPath, original);
    for (const file of [written?.report.outputPath, written?.reportPath]) if (file) fs.rmSync(file, { force: true });
  });

  it('haloc.compressModel (options instead of quick picks) searches in the worker and stores the result in api.results', async function () {
    assert.ok(api.results && typeof api.results.get === 'function', 'activate() must return { results: SearchResults }');
    const outcome = await vscode.commands.executeCommand<CompressModelOutcome | undefined>('haloc.compressModel', modelUri, options);
    assert.ok(outcome, 'the command returned nothing (cancelled or failed: see the HALOC log)');
    assert.strictEqual(outcome.fromCache, false, 'the first search cannot come from the cache');
    const shown = api.results.get(modelUri);
    assert.ok(shown, 'no result for mnist-8 in api.results');
    const result = shown.search.result;
    assert.strictEqual(result.mode, 'fast');
    assert.strictEqual(result.target.name, 'embedded-gpu');
    assert.strictEqual(result.target.kind, 'estimated');
    assert.strictEqual(shown.stale, false);
    assert.ok(shown.points.length > 0, 'no points (front or baselines)');
    for (const p of shown.points) assert.strictEqual(p.accuracyDelta.kind, 'estimated', `${p.name}: a data-free preview can only estimate accuracy (${p.accuracyDelta.label})`);
    assert.ok(shown.search.layers.length >= 2, `layer views: ${shown.search.layers.map((l) => l.name).join(', ')}`);
    assert.match(shown.search.settingsLabel, /fast preview · embedded-gpu · data-free/);
    assert.deepStrictEqual(JSON.parse(shown.settingsKey).modelPath, modelPath);
  });

  it('a second run with the same settings is restored from the cache, without a search', async function () {
    const before = api.results.get(modelUri)?.search.createdAt;
    const started = Date.now();
    const outcome = await vscode.commands.executeCommand<CompressModelOutcome | undefined>('haloc.compressModel', modelUri, options);
    assert.ok(outcome);
    assert.strictEqual(outcome.fromCache, true, 'the same settings on an unchanged model must come from the cache');
    assert.strictEqual(outcome.shown.search.createdAt, before);
    assert.ok(Date.now() - started < 5000, `restoring took ${Date.now() - started} ms`);
  });

  it('haloc.compressToPoint writes a valid .onnx and a report beside the model; the original is byte-identical', async function () {
    const shown = api.results.get(modelUri);
    assert.ok(shown);
    const point = shown.points[0];
    assert.ok(point);
    written = await vscode.commands.executeCommand<CompressToPointOutcome | undefined>('haloc.compressToPoint', modelUri, point.id);
    assert.ok(written, 'the command returned nothing (failed: see the HALOC log)');
    const output = written.report.outputPath;
    assert.strictEqual(path.dirname(output), workspaceDir);
    assert.match(path.basename(output), /^mnist-8\.haloc-[a-z]+\d+\.onnx$/);
    assert.ok(fs.statSync(output).size > 0);
    assert.ok(fs.readFileSync(modelPath).equals(original), 'the original model changed');
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(output);
    assert.deepStrictEqual(session.inputNames.length, 1);
    await session.release();
    assert.ok(written.report.macs.after <= written.report.macs.before);
    assert.ok(written.report.latencyMs.before > 0 && written.report.latencyMs.after > 0, 'latency before/after measured');
    assert.strictEqual(written.report.top1, null, 'no labelled dataset is known: top-1 is not measured');
    const markdown = fs.readFileSync(written.reportPath, 'utf8');
    assert.match(markdown, /\| Top-1 \| - \| - \| - \| not measured/);
    assert.match(markdown, /\| Latency \|.*measured/);
    await eventually('the report to be shown', () => assertReportShown(written?.reportPath ?? ''));
  });

  it('changing the model file marks its result stale, and a stale result is not written', async function () {
    // An unknown protobuf field (number 99, varint 1) appended: still a valid model, another content hash.
    fs.writeFileSync(modelPath, Buffer.concat([original, Buffer.from([0x98, 0x06, 0x01])]));
    await eventually('the result to be marked stale', () => assert.strictEqual(api.results.get(modelUri)?.stale, true), 20000);
    const outcome = await vscode.commands.executeCommand('haloc.compressToPoint', modelUri);
    assert.strictEqual(outcome, undefined, 'a stale result must not be written');
    fs.writeFileSync(modelPath, original);
    await eventually('the result to be fresh again', () => assert.strictEqual(api.results.get(modelUri)?.stale, false), 20000);
  });
});

describe('HALOC inline rank hints (integration)', function () {
  this.timeout(300000);
  let api: HalocApi;
  let workspaceDir: string;
  let modelUri: vscode.Uri;
  let planPath: string;
  let pythonPath: string;
  // The same light data-free search as the Pareto suite (restored from the cache when it ran).
  const options = { mode: 'fast', target: 'embedded-gpu', dataset: null, budget: 0.6, calibration: 32, points: 5 };

  type Label = string | readonly { value: string }[];
  const labelText = (label: Label): string => (typeof label === 'string' ? label : label.map((p) => p.value).join(''));
  const hoverText = (hovers: readonly vscode.Hover[]): string => hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
  const wholeDocument = (doc: vscode.TextDocument): vscode.Range => new vscode.Range(0, 0, doc.lineCount, 0);

  before(async function () {
    ({ api, workspaceDir } = await activateHaloc());
    modelUri = vscode.Uri.file(path.join(workspaceDir, 'mnist-8.onnx'));
    planPath = path.join(workspaceDir, 'mnist-8.ranks.json');
    pythonPath = path.join(workspaceDir, 'zz_net_for_hints.py');
    await vscode.commands.executeCommand('haloc.compressModel', modelUri, options);
    const shown = api.results.get(modelUri);
    assert.ok(shown, 'haloc.compressModel left no result for mnist-8.onnx');
    // Follow a point that factorizes some layer, so that a rank hint (not only "keep") is shown.
    const withRank = shown.points.find((p) => shown.search.layers.some((l) => typeof p.ranks[l.name] === 'number'));
    assert.ok(withRank, `no point of the result factorizes a layer: ${shown.points.map((p) => JSON.stringify(p.ranks)).join(' ')}`);
    api.results.select(modelUri, withRank.id);
  });

  after(async function () {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const file of [planPath, pythonPath]) if (file) fs.rmSync(file, { force: true });
  });

  it('the ONNX text view shows a rank hint or the reason per layer, a CodeLens per compressible layer, and a chart hover', async function () {
    await vscode.commands.executeCommand('haloc.openModelText', modelUri);
    const doc = (await eventually('the text view of mnist-8', () => {
      const ed = vscode.window.activeTextEditor;
      assert.ok(ed && ed.document.uri.scheme === 'haloc-onnx' && ed.document.uri.path.includes('mnist-8'), 'not the mnist-8 text view yet');
      return ed;
    })).document;
    const point = api.results.get(modelUri)?.points.find((p) => p.id === api.results.get(modelUri)?.selectedId);
    assert.ok(point);
    const lenses = await eventually('code lenses on the compressible layers', async () => {
      const found = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)) ?? [];
      const ours = found.filter((l) => l.command?.command === 'haloc.changeLayerRank');
      assert.deepStrictEqual(ours.map((l) => l.command?.arguments?.[1]), ['Convolution28', 'Convolution110', 'Times212']);
      return ours;
    });
    for (const lens of lenses) assert.match(lens.command?.title ?? '', /^(rank \d+|keep) \(apply…\)$|^plan: /, `lens title "${lens.command?.title}"`);
    const hints = (await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', doc.uri, wholeDocument(doc))) ?? [];
    const hintOnLine = (line: number): string => hints.filter((h) => h.position.line === line).map((h) => labelText(h.label)).join(' | ');
    let ranked = 0;
    for (const lens of lenses) {
      const layer = String(lens.command?.arguments?.[1]);
      const rank = point.ranks[layer];
      const text = hintOnLine(lens.range.start.line);
      if (typeof rank === 'number') {
        ranked++;
        // An analytic target and no data: the speed-up is predicted and the accuracy estimated.
        assert.match(text, new RegExp(`^rank ${rank} · \\d+(\\.\\d)?x( · [-+±]\\d+\\.\\d% acc| \\(estimated\\) · acc n/a)`), `hint of ${layer}`);
        assert.match(text, /\(estimated\)/, `hint of ${layer}`);
        assert.doesNotMatch(text, /meas/, `hint of ${layer}`);
      } else assert.match(text, /^(keep|not worth it: .+)$/, `hint of ${layer}`);
    }
    assert.ok(ranked > 0, 'no layer shows a rank hint');
    const plus = doc.getText().split('\n').findIndex((l) => l.includes('Plus30'));
    assert.ok(hints.some((h) => labelText(h.label).startsWith('not compressible: Add has no weight matrix')), `no "not compressible" marker (hints: ${hints.map((h) => labelText(h.label)).join(' | ')}; Plus30 on line ${plus})`);
    const first = lenses[0];
    assert.ok(first);
    const hovers = (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(first.range.start.line, 2))) ?? [];
    const markdown = hoverText(hovers);
    assert.match(markdown, /\*\*Convolution28\*\* · Conv · max rank 8/);
    assert.match(markdown, /!\[latency \(predicted\) and spectrum of Convolution28 by rank\]\(data:image\/svg\+xml;base64,/);
    assert.match(markdown, /\| rank \| latency \(estimated\) \| speed-up \| rel\. error \(spectrum\) \|/);
  });

  it('a plan file with a too-large rank gets a diagnostic whose quick fix edits it; haloc.changeLayerRank writes the plan', async function () {
    const shown = api.results.get(modelUri);
    assert.ok(shown);
    fs.writeFileSync(planPath, `${JSON.stringify({ model: 'mnist-8.onnx', ranks: { Convolution28: 99, Plus30: 2 } }, null, 2)}\n`);
    const doc = await vscode.workspace.openTextDocument(planPath);
    await vscode.window.showTextDocument(doc);
    const diagnostics = await eventually('the plan diagnostics', () => {
      const found = vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'haloc');
      assert.deepStrictEqual(found.map((d) => d.code).sort(), ['above-max', 'not-compressible'], found.map((d) => d.message).join('; '));
      return found;
    });
    const tooLarge = diagnostics.find((d) => d.code === 'above-max');
    assert.ok(tooLarge);
    assert.match(tooLarge.message, /rank 99 is above the layer's maximum useful rank 8/);
    const actions = (await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>('vscode.executeCodeActionProvider', doc.uri, tooLarge.range)) ?? [];
    const titles = actions.map((a) => a.title);
    const suggested = shown.points.find((p) => p.id === shown.selectedId)?.ranks.Convolution28;
    assert.ok(titles.includes('Keep this layer'), `quick fixes: ${titles.join(', ')}`);
    const wanted = typeof suggested === 'number' ? `Use the suggested rank (${suggested})` : 'Keep this layer';
    const action = actions.find((a): a is vscode.CodeAction => a.title === wanted && 'edit' in a);
    assert.ok(action?.edit, `no quick fix "${wanted}" with an edit among: ${titles.join(', ')}`);
    assert.ok(await vscode.workspace.applyEdit(action.edit));
    assert.strictEqual((JSON.parse(doc.getText()) as { ranks: Record<string, unknown> }).ranks.Convolution28, typeof suggested === 'number' ? suggested : 'keep');
    await eventually('the fixed entry to lose its diagnostic', () => assert.ok(!vscode.languages.getDiagnostics(doc.uri).some((d) => d.code === 'above-max')));
    const planHints = (await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', doc.uri, wholeDocument(doc))) ?? [];
    assert.ok(planHints.some((h) => /(x \(predicted\)|^kept)/.test(labelText(h.label))), `plan hints: ${planHints.map((h) => labelText(h.label)).join(' | ')}`);
    await doc.save();

    const view = shown.search.layers.find((l) => l.name === 'Convolution110');
    const rank = view?.latency[0]?.rank ?? 1;
    await vscode.commands.executeCommand('haloc.changeLayerRank', modelUri, 'Convolution110', rank);
    const written = JSON.parse(fs.readFileSync(planPath, 'utf8')) as { source?: { kind: string }; ranks: Record<string, unknown> };
    assert.strictEqual(written.ranks.Convolution110, rank);
    assert.strictEqual(written.ranks.Plus30, 2, 'other entries are kept as they were');
    assert.strictEqual(written.source?.kind, 'manual');
    const textUri = vscode.Uri.from({ scheme: 'haloc-onnx', path: `${modelUri.path}.onnxtext` });
    await eventually('the CodeLens to show the planned rank', async () => {
      const found = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', textUri)) ?? [];
      const lens = found.find((l) => l.command?.arguments?.[1] === 'Convolution110');
      assert.match(lens?.command?.title ?? '', new RegExp(`^plan: rank ${rank}`));
    });
  });

  it('a PyTorch source gets the hint at an nn.Conv2d whose attribute names exactly one layer', async function () {
    fs.writeFileSync(pythonPath, 'import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.Convolution110 = nn.Conv2d(\n            8, 16, 5, padding=2)\n        self.head = nn.Linear(256, 10)\n');
    const doc = await vscode.workspace.openTextDocument(pythonPath);
    const hints = await eventually('the inlay hint in the Python file', async () => {
      const found = (await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', doc.uri, wholeDocument(doc))) ?? [];
      assert.ok(found.length > 0, 'no hints');
      return found;
    });
    const ours = hints.filter((h) => /^(mnist-8\.onnx: )?(rank \d+ · |keep|not worth it: )/.test(labelText(h.label)));
    assert.ok(ours.length > 0, `hints: ${hints.map((h) => labelText(h.label)).join(' | ')}`);
    for (const h of ours) assert.deepStrictEqual([h.position.line, h.position.character], [7, 32], 'the hint goes after the closing parenthesis of the call');
    assert.ok(!hints.some((h) => h.position.line === 8), 'self.head matches no layer and gets no hint');
  });
});
