// Helpers shared by the integration suites (not a suite itself: index.ts loads only *.test.js).
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import type { HalocApi } from '../../extension/extension';

/** The extension under test. */
export const EXTENSION_ID = 'haloc-dev.haloc';

/** Retries `probe` until it returns without throwing; on timeout throws its last error, prefixed with `what`. */
export async function eventually<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Asserts that the report is the active tab: its Markdown preview, or the text where there is no preview. */
export function assertReportShown(reportPath: string): void {
  const label = vscode.window.tabGroups.activeTabGroup.activeTab?.label ?? '';
  const shown = label === `Preview ${path.basename(reportPath)}` || vscode.window.activeTextEditor?.document.uri.fsPath === reportPath;
  assert.ok(shown, `the active tab is '${label}', not the report ${reportPath}`);
}

/** Activates the extension under test: its API and the test workspace's folder. */
export async function activateHaloc(): Promise<{ api: HalocApi; workspaceDir: string }> {
  const ext = vscode.extensions.getExtension<HalocApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this VS Code`);
  const api = await ext.activate();
  const workspaceDir = process.env.HALOC_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(workspaceDir, 'no workspace');
  return { api, workspaceDir };
}
