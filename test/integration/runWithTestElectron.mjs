#!/usr/bin/env node
// Runs the same integration suite through @vscode/test-electron, for machines that can download
// VS Code (it cannot on the offline build machines: use runInCodeServer.mjs there).
// Linux without a display needs xvfb: `xvfb-run -a node test/integration/runWithTestElectron.mjs`.
// Env: HALOC_VSCODE_VERSION (default 'stable'), HALOC_EXTENSION_PATH, HALOC_EXTENSION_TESTS_PATH, HALOC_KEEP_TMP=1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { dataModelName, modelsDir, prepareWorkspace } from './runInCodeServer.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (msg) => console.log(`[run-with-test-electron] ${msg}`);

/** Downloads (once, into .vscode-test/) and runs VS Code with the suite; resolves with the exit code. */
export async function main() {
  const env = process.env;
  const extensionDevelopmentPath = path.resolve(env.HALOC_EXTENSION_PATH || repoRoot);
  const extensionTestsPath = path.resolve(env.HALOC_EXTENSION_TESTS_PATH || path.join(repoRoot, 'out', 'test', 'integration', 'index.js'));
  if (!fs.existsSync(modelsDir)) {
    log(`skipped: ../shared/models not found (looked for ${modelsDir})`);
    return 0;
  }
  if (!fs.existsSync(extensionTestsPath)) {
    log(`FAILED: ${extensionTestsPath} does not exist; run \`npm run build\` first`);
    return 2;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-it-'));
  const workspace = prepareWorkspace(tmp);
  try {
    // runTests resolves with VS Code's exit code when it is 0 and rejects otherwise.
    return await runTests({
      version: env.HALOC_VSCODE_VERSION || 'stable',
      extensionDevelopmentPath,
      extensionTestsPath,
      extensionTestsEnv: { HALOC_TEST_WORKSPACE: workspace, HALOC_TEST_DATA_MODEL: dataModelName() },
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes',
        '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.join(tmp, 'extensions')],
    });
  } catch (e) {
    log(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    if (env.HALOC_KEEP_TMP === '1') log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
