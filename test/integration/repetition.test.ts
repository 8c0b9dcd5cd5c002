// Integration suite: the extension under repetition in one VS Code session. Twenty back-to-back searches
// and compressions of mnist-8 (data-free fast previews against an analytic profile: real jobs in the
// engine worker, quick) leave the extension host's memory and its open handles within a bound, every
// written file and the original intact; the Pareto explorer hidden (its webview dropped) in the middle of
// a search shows that search's result when it comes back.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CompressModelOutcome } from '../../extension/compressModelCommand';
import type { CompressToPointOutcome } from '../../extension/compressToPointCommand';
import type { HalocApi } from '../../extension/extension';
import { activateHaloc, eventually } from './support';

const ROUNDS = 20;

/** Open handles of this process by kind (timers, sockets, message ports, ...). */
function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** Lets finished work settle and collects garbage where the host allows it. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  (globalThis as { gc?: () => void }).gc?.();
}

describe('HALOC under repetition (integration)', function () {
  this.timeout(900000);
  let api: HalocApi;
  let modelUri: vscode.Uri;
  let original: Buffer;
  const options = { target: 'embedded-gpu', mode: 'fast', dataset: null, budget: null, calibration: 16, points: 3, searchAgain: true };

  before(async function () {
    const { api: activated, workspaceDir: dir } = await activateHaloc();
    api = activated;
    modelUri = vscode.Uri.file(path.join(dir, 'mnist-8.onnx'));
    original = fs.readFileSync(modelUri.fsPath);
  });

  after(async function () {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it(`${ROUNDS} searches and compressions in a row: memory and open handles stay bounded, nothing is left behind`, async function () {
    const round = async (): Promise<void> => {
      const searched = await vscode.commands.executeCommand<CompressModelOutcome | undefined>('haloc.compressModel', modelUri, options);
      assert.ok(searched && !searched.fromCache, 'the search returned nothing (see the HALOC log)');
      const written = await vscode.commands.executeCommand<CompressToPointOutcome | undefined>('haloc.compressToPoint', modelUri, searched.shown.selectedId);
      assert.ok(written, 'the compression returned nothing (see the HALOC log)');
      fs.rmSync(written.report.outputPath);
      fs.rmSync(written.reportPath);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    };
    // two warm-up rounds: the worker, onnxruntime and the caches are in place after them
    await round();
    await round();
    await settle();
    const memoryBefore = process.memoryUsage();
    const handlesBefore = handleCounts();
    for (let i = 2; i < ROUNDS; i++) await round();
    await settle();
    const memoryAfter = process.memoryUsage();
    const handlesAfter = handleCounts();
    const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const grown = [...handlesAfter].filter(([kind, n]) => n > (handlesBefore.get(kind) ?? 0)).map(([kind, n]) => `${kind} ${handlesBefore.get(kind) ?? 0} -> ${n}`);
    console.log(`    after ${ROUNDS - 2} more rounds: heap ${mb(memoryBefore.heapUsed)} -> ${mb(memoryAfter.heapUsed)}, rss ${mb(memoryBefore.rss)} -> ${mb(memoryAfter.rss)}, external ${mb(memoryBefore.external)} -> ${mb(memoryAfter.external)}; handles grown: ${grown.join(', ') || 'none'}`);
    assert.ok(memoryAfter.heapUsed - memoryBefore.heapUsed < 64 * 2 ** 20, `the heap grew by ${mb(memoryAfter.heapUsed - memoryBefore.heapUsed)}`);
    assert.ok(memoryAfter.rss - memoryBefore.rss < 256 * 2 ** 20, `the resident set grew by ${mb(memoryAfter.rss - memoryBefore.rss)}`);
    const total = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);
    assert.ok(total(handlesAfter) - total(handlesBefore) <= 8, `open handles grew: ${grown.join(', ')}`);
    assert.deepStrictEqual(api.jobs.running, [], 'a job is still listed as running');
    assert.ok(fs.readFileSync(modelUri.fsPath).equals(original), 'the original model changed');
    assert.deepStrictEqual(fs.readdirSync(path.dirname(modelUri.fsPath)).filter((f) => /\.haloc-|\.tmp/.test(f)), [], 'files were left beside the model');
  });

  it('the Pareto explorer hidden during a search shows that search when it is shown again', async function () {
    await vscode.commands.executeCommand('haloc.showParetoExplorer', modelUri);
    await eventually('the explorer to show mnist-8', () => assert.strictEqual(api.pareto.lastRender?.model, modelUri.toString()), 60000);
    const search = vscode.commands.executeCommand<CompressModelOutcome | undefined>('haloc.compressModel', modelUri, { ...options, points: 4 });
    await vscode.commands.executeCommand('workbench.view.explorer'); // the explorer's container replaces the panel's: its webview goes
    console.log(`    the explorer was hidden ${api.jobs.running.length > 0 ? `while "${api.jobs.running[0]?.message ?? ''}" ran` : 'after the search had already ended'}`);
    const outcome = await search;
    assert.ok(outcome, 'the search returned nothing');
    const renders: { model: string | null; points: number; selectedId: string | null }[] = [];
    const subscription = api.pareto.onDidRender((r) => renders.push(r));
    try {
      await vscode.commands.executeCommand('haloc.showParetoExplorer', modelUri);
      await eventually('the explorer to render the new result after it was shown again', () => {
        const render = renders.at(-1);
        assert.ok(render, 'no render since the explorer was shown again');
        assert.strictEqual(render.model, modelUri.toString());
        assert.strictEqual(render.points, outcome.shown.points.length);
        assert.strictEqual(render.selectedId, outcome.shown.selectedId);
      }, 60000);
    } finally {
      subscription.dispose();
    }
  });
});
