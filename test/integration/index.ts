// Entry point of the integration suite, loaded inside the VS Code extension host by either runner
// (runInCodeServer.mjs or runWithTestElectron.mjs) as `extensionTestsPath`.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

/** Runs every `*.test.js` file beside this module with mocha; rejects when any test fails. */
export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60000 });
  // No glob package: the compiled tests all sit in this folder (out/test/integration/).
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise<void>((resolve, reject) => {
    if (files.length === 0) {
      reject(new Error(`no *.test.js files in ${__dirname}`));
      return;
    }
    try {
      mocha.run((failures) => {
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
        else resolve();
      });
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
