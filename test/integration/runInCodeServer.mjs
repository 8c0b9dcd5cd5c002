#!/usr/bin/env node
// Runs the integration suite (out/test/integration/index.js) inside a real VS Code: code-server
// driven by headless Chromium through playwright-core, as described in shared/docs/VSCODE-TESTS.md.
// `npm run test:integration` runs it after `npm run build`. Exit code: the suite's (0 = all passed);
// 1 on failures, 124 on timeout, 2 when the harness itself fails.
// Env: HALOC_EXTENSION_PATH, HALOC_EXTENSION_TESTS_PATH (override what is tested), HALOC_TEST_TIMEOUT_S
// (default 900), HALOC_SCREENSHOT=1 (after a pass, save media/screenshot-models-view.png, or HALOC_SCREENSHOT_PATH;
// the suite's UI requests save media/screenshot-<name>.png, see uiDriver.mjs),
// HALOC_CHROMIUM (default /usr/bin/chromium), HALOC_VERBOSE=1 (all page console and code-server output),
// HALOC_KEEP_TMP=1 (keep the temp folder), HALOC_VSCODE_TEST_CACHE (see installCodeServer.mjs),
// HALOC_TEST_VSIX=<file.vsix> (test the packaged extension: install it with `--install-extension` into this
// run's extensions folder and run the same suite against it instead of the development folder;
// `npm run test:vsix` packages, then runs this), HALOC_TEST_MODEL=<model.onnx> (a CIFAR-10 classifier of
// your own with ResNet-20's preprocessing: the suite on ResNet-20 with the example's images runs on it).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureCodeServer } from './installCodeServer.mjs';
import { serveUiRequests } from './uiDriver.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (msg) => console.log(`[run-in-code-server] ${msg}`);
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** Folder of the shared test models (../shared/models beside the clone). */
export const modelsDir = path.resolve(repoRoot, '..', 'shared', 'models');

/** Creates `<parent>/workspace` with the test models (see extension.test.ts); returns its path, or null without models. */
export function prepareWorkspace(parent) {
  if (!fs.existsSync(modelsDir)) return null;
  const ws = path.join(parent, 'workspace');
  fs.mkdirSync(path.join(ws, 'nested'), { recursive: true });
  fs.copyFileSync(path.join(modelsDir, 'resnet20-cifar10.onnx'), path.join(ws, 'resnet20-cifar10.onnx'));
  fs.copyFileSync(path.join(modelsDir, 'mnist-8.onnx'), path.join(ws, 'mnist-8.onnx'));
  fs.copyFileSync(path.join(modelsDir, 'mnist-8.onnx'), path.join(ws, 'nested', 'small.onnx'));
  // The bundled example's 1,000 CIFAR-10 test images, remembered for ResNet-20 alone (as the user's
  // "HALOC: Compress Model..." would write it), so that mnist-8 in the same folder stays data-free.
  // HALOC_TEST_MODEL: another CIFAR-10 classifier (same preprocessing) that the data suite uses instead.
  fs.copyFileSync(path.join(repoRoot, 'example', 'cifar10-test-1000.tar'), path.join(ws, 'cifar10-test-1000.tar'));
  const dataModel = dataModelName();
  if (process.env.HALOC_TEST_MODEL) fs.copyFileSync(process.env.HALOC_TEST_MODEL, path.join(ws, dataModel));
  const example = JSON.parse(fs.readFileSync(path.join(repoRoot, 'example', '.haloc.json'), 'utf8'));
  fs.writeFileSync(path.join(ws, '.haloc.json'), `${JSON.stringify({ models: { [dataModel]: example } }, null, 2)}\n`);
  return ws;
}

/** The file name of the data suite's model in the workspace (see prepareWorkspace). */
export function dataModelName() {
  return process.env.HALOC_TEST_MODEL ? path.basename(process.env.HALOC_TEST_MODEL) : 'resnet20-cifar10.onnx';
}

// A free TCP port on the loopback interface.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Kills a process group that we started (its leader's pid); ignores one already gone.
function killGroup(pid, signal = 'SIGKILL') {
  if (!pid) return;
  try { process.kill(-pid, signal); } catch { /* already exited */ }
}

// Polls code-server's /healthz until it answers, the process exits, or the deadline passes.
async function waitForServer(url, child, deadline) {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited early with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('code-server did not start listening in time');
}

// The extension id (publisher.name) that a package.json declares.
function extensionId(manifest) {
  return `${manifest.publisher}.${manifest.name}`.toLowerCase();
}

// Installs a .vsix with code-server's --install-extension into extensionsDir; returns the installed folder.
function installVsix(node, codeServerEntry, vsix, dirs, env) {
  const r = spawnSync(node, [codeServerEntry, '--install-extension', vsix, '--force',
    '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions], { env, encoding: 'utf8', timeout: 120000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.error || r.status !== 0) {
    throw new Error(`code-server --install-extension ${vsix} failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`}):\n${output}`);
  }
  const folders = fs.readdirSync(dirs.extensions).filter((d) => fs.statSync(path.join(dirs.extensions, d)).isDirectory());
  const installed = folders.find((d) => fs.existsSync(path.join(dirs.extensions, d, 'package.json')));
  if (!installed) throw new Error(`code-server --install-extension ${vsix} reported success but ${dirs.extensions} holds no extension:\n${output}`);
  return path.join(dirs.extensions, installed);
}

// In the extension host's Node, runs mnist-8 in onnxruntime-node and an add in TensorFlow.js (wasm backend),
// both loaded from the installed extension's node_modules: the run-time files that .vscodeignore keeps
// are enough (the suite does not reach TensorFlow.js). Returns a summary; throws otherwise.
function checkInstalledRuntime(node, extDir) {
  const script = `
    const path = require('node:path');
    const req = require('node:module').createRequire(path.join(process.argv[1], 'package.json'));
    (async () => {
      const ort = req('onnxruntime-node');
      const session = await ort.InferenceSession.create(process.argv[2]);
      const input = new ort.Tensor('float32', new Float32Array(28 * 28), [1, 1, 28, 28]);
      const out = await session.run({ [session.inputNames[0]]: input });
      if (out[session.outputNames[0]].data.length !== 10) throw new Error('mnist-8 gave no 10 logits');
      const tf = req('@tensorflow/tfjs');
      const wasm = req('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start');
      const sum = tf.add(tf.ones([2]), tf.ones([2])).dataSync();
      if (sum[0] !== 2 || sum[1] !== 2) throw new Error('tfjs wasm computed ' + Array.from(sum));
      console.log('onnxruntime-node ' + req('onnxruntime-node/package.json').version + ', tfjs ' + tf.version.tfjs + ' (wasm)');
    })().catch((e) => { console.error(e && e.stack || String(e)); process.exit(1); });`;
  const r = spawnSync(node, ['-e', script, extDir, path.join(modelsDir, 'mnist-8.onnx')], { encoding: 'utf8', timeout: 60000 });
  if (r.error || r.status !== 0) {
    throw new Error(`the installed extension's run-time modules do not load (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`}):\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim()}`);
  }
  return r.stdout.trim();
}

// Workbench chatter on the page console (the suite's output arrives there as INFO logs too).
const NOISE = /^\[[\w .:-]+\]|^(Resolving|Resolved) connection token|^Creating a socket|^Updating additional builtin extensions/;

// A console message as { level, text }: the workbench logs as ('%c INFO', css, format, ...args).
async function consoleEntry(msg) {
  let args;
  try {
    args = await Promise.all(msg.args().map((a) => a.jsonValue()));
  } catch {
    return { level: msg.type(), text: msg.text() };
  }
  if (typeof args[0] === 'string' && args[0].startsWith('%c')) {
    return { level: args[0].slice(2).trim(), text: util.format(...args.slice(2)) };
  }
  return { level: msg.type(), text: util.format(...args) };
}

// After a pass: opens the workbench with the extension (no tests), shows the HALOC view, saves a screenshot.
async function screenshot(browser, base, folder, extUri, file) {
  const payload = JSON.stringify([['extensionDevelopmentPath', extUri]]);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await ctx.newPage();
    await page.goto(`${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(payload)}`);
    await page.locator('.monaco-workbench .activitybar').waitFor({ timeout: 60000 });
    const icon = page.locator('.activitybar [aria-label^="HALOC"]').first();
    try {
      await icon.waitFor({ timeout: 30000 });
      await icon.click();
    } catch {
      log('HALOC activity-bar icon not found; using the command palette');
      await page.keyboard.press('F1');
      await page.keyboard.type('View: Show HALOC');
      await page.keyboard.press('Enter');
    }
    const row = page.locator('.monaco-list-row', { hasText: 'resnet20-cifar10.onnx' }).first();
    await row.waitFor({ timeout: 60000 });
    // Widen the side bar so that the descriptions fit: drag its sash to the right.
    const bar = await page.locator('.part.sidebar').boundingBox();
    if (bar) {
      const y = bar.y + bar.height / 2;
      await page.mouse.move(bar.x + bar.width + 1, y);
      await page.mouse.down();
      await page.mouse.move(bar.x + bar.width + 180, y, { steps: 10 });
      await page.mouse.up();
    }
    // Best effort: expand ResNet-20 and click its first layer (haloc.revealLayer opens the text view).
    try {
      await row.click();
      const layer = page.locator('.monaco-list-row[aria-level="2"]').first();
      if (!(await layer.isVisible())) await row.locator('.monaco-tl-twistie').click();
      await layer.waitFor({ timeout: 30000 });
      await layer.click();
    } catch (e) {
      log(`screenshot: could not show a layer (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    await page.waitForTimeout(3000);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file });
    log(`screenshot saved: ${file}`);
  } finally {
    await ctx.close().catch(() => {});
  }
}

/** Runs the suite once; resolves with the process exit code. */
export async function main() {
  const env = process.env;
  const vsix = env.HALOC_TEST_VSIX ? path.resolve(env.HALOC_TEST_VSIX) : undefined;
  const extensionPath = path.resolve(env.HALOC_EXTENSION_PATH || repoRoot);
  const testsPath = path.resolve(env.HALOC_EXTENSION_TESTS_PATH || path.join(repoRoot, 'out', 'test', 'integration', 'index.js'));
  const timeoutMs = Number(env.HALOC_TEST_TIMEOUT_S || 900) * 1000;
  const verbose = env.HALOC_VERBOSE === '1';
  if (!fs.existsSync(modelsDir)) {
    log(`skipped: ../shared/models not found (looked for ${modelsDir})`);
    return 0;
  }
  if (!fs.existsSync(testsPath)) {
    log(`FAILED: ${testsPath} does not exist; run \`npm run build\` first`);
    return 2;
  }
  if (vsix && !fs.existsSync(vsix)) {
    log(`FAILED: HALOC_TEST_VSIX=${vsix} does not exist; run \`npm run package\` first`);
    return 2;
  }
  const { main: extensionMain } = JSON.parse(fs.readFileSync(path.join(extensionPath, 'package.json'), 'utf8'));
  const mainFile = extensionMain && path.resolve(extensionPath, extensionMain);
  if (!vsix && mainFile && !fs.existsSync(mainFile) && !fs.existsSync(`${mainFile}.js`)) {
    log(`FAILED: the extension's main ${extensionMain} does not exist; run \`npm run build\` first`);
    return 2;
  }

  let t0 = Date.now();
  let installed;
  try {
    installed = ensureCodeServer();
  } catch (e) {
    log(`FAILED to install code-server: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const { node, codeServerEntry } = installed;
  log(`code-server ready (${secs(t0)})`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-it-'));
  const workspace = prepareWorkspace(tmp);
  for (const d of ['user-data', 'extensions']) fs.mkdirSync(path.join(tmp, d));
  fs.writeFileSync(path.join(tmp, 'config.yaml'), 'auth: none\n');
  // Quiet, uncluttered workbench: no welcome page, no chat side bar, no update checks.
  fs.mkdirSync(path.join(tmp, 'user-data', 'User'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'user-data', 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true, 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'update.mode': 'none',
  }, null, 2));
  // Points the XDG folders of code-server and Chromium into tmp: they leave nothing in $HOME.
  const xdg = Object.fromEntries(['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME'].map((k) => [k, path.join(tmp, 'xdg')]));
  const serverLog = fs.openSync(path.join(tmp, 'code-server.log'), 'a');

  let server; let browserServer; let chromiumPid; let browser; let failed = true; // harness failure: show code-server's log
  let stopUi = () => {};
  const uiDir = path.join(tmp, 'ui');
  const cleanup = async () => {
    stopUi();
    if (failed && !verbose) {
      const text = fs.readFileSync(path.join(tmp, 'code-server.log'), 'utf8').trimEnd();
      if (text) log(`last lines of code-server's log:\n${text.split('\n').slice(-25).join('\n')}`);
    }
    await browser?.close().catch(() => {}); // (only disconnects)
    await Promise.race([browserServer?.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    killGroup(chromiumPid);
    killGroup(server?.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    killGroup(server?.pid);
    if (env.HALOC_KEEP_TMP === '1') log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig) => { log(`${sig}: stopping`); cleanup().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const deadline = Date.now() + timeoutMs;
    // The extension under test: the development folder, or (HALOC_TEST_VSIX) the installed package. The
    // workbench runs extensionTestsPath only beside an extensionDevelopmentPath, so a vsix run passes an
    // empty stub extension of another id there, and the installed extension is the only one with ours.
    let devPath = extensionPath;
    if (vsix) {
      t0 = Date.now();
      const installedDir = installVsix(node, codeServerEntry, vsix,
        { userData: path.join(tmp, 'user-data'), extensions: path.join(tmp, 'extensions') }, { ...env, ...xdg });
      const manifest = JSON.parse(fs.readFileSync(path.join(installedDir, 'package.json'), 'utf8'));
      const ours = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
      if (extensionId(manifest) !== extensionId(ours)) {
        throw new Error(`${vsix} holds ${extensionId(manifest)}, not ${extensionId(ours)}`);
      }
      log(`installed ${path.basename(vsix)} as ${path.basename(installedDir)} (${secs(t0)})`);
      log(`run-time modules load from the installed extension: ${checkInstalledRuntime(node, installedDir)}`);
      devPath = path.join(tmp, 'test-host-stub');
      fs.mkdirSync(devPath);
      fs.writeFileSync(path.join(devPath, 'package.json'), JSON.stringify({
        name: 'haloc-vsix-test-host', publisher: 'haloc-test', version: '0.0.0', engines: { vscode: '*' },
      }, null, 2));
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    t0 = Date.now();
    server = spawn(node, [codeServerEntry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
      '--config', path.join(tmp, 'config.yaml'),
      '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.join(tmp, 'extensions'),
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--vscode-option', 'enable-smoke-test-driver'], {
      detached: true, // own process group, so that its extension host and pty host die with it
      stdio: ['ignore', verbose ? 'inherit' : serverLog, verbose ? 'inherit' : serverLog],
      // HALOC_TEST_WORKSPACE reaches the suite (the extension host inherits this environment);
      // xdg keeps code-server's logs and device id out of ~/.local, ~/.config and ~/.cache.
      env: { ...env, ...xdg, HALOC_TEST_WORKSPACE: workspace, HALOC_TEST_UI_DIR: uiDir, HALOC_TEST_DATA_MODEL: dataModelName() },
    });
    await waitForServer(base, server, deadline);
    log(`code-server listening on ${base} (${secs(t0)})`);

    // Imported lazily so that a skipped run needs no playwright-core.
    const { chromium } = await import('playwright-core');
    browserServer = await chromium.launchServer({
      executablePath: env.HALOC_CHROMIUM || '/usr/bin/chromium',
      headless: true, // adds --headless; playwright also gives it a fresh, empty profile
      env: { ...env, ...xdg },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    chromiumPid = browserServer.process().pid;
    browser = await chromium.connect(browserServer.wsEndpoint());
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    stopUi = serveUiRequests(page, uiDir, { screenshotDir: env.HALOC_SCREENSHOT === '1' ? path.join(repoRoot, 'media') : undefined, log });

    let settle;
    const exited = new Promise((resolve) => { settle = resolve; });
    await page.exposeFunction('codeAutomationExit', (code) => settle({ code: Number(code) }));
    let printing = Promise.resolve(); // keeps the console output in order
    page.on('console', (msg) => {
      printing = printing.then(() => consoleEntry(msg)).then(({ level, text }) => {
        if (verbose) console.log(`[${level}] ${text}`);
        else if (level === 'INFO' && !NOISE.test(text)) console.log(text); // mocha and the tests' console.log
        else if (level === 'ERR' && /haloc/i.test(text)) console.log(`[${level}] ${text}`); // e.g. activation errors
      }, () => {});
    });
    page.on('pageerror', (e) => verbose && console.log(`[page error] ${e.message}`));
    page.on('close', () => settle({ error: 'the page closed before codeAutomationExit' }));
    server.once('exit', (c) => settle({ error: `code-server exited with code ${c} during the run` }));
    const timer = setTimeout(() => settle({ timeout: true }), Math.max(0, deadline - Date.now()));

    const rootUri = (p) => `vscode-remote://127.0.0.1:${port}${encodeURI(p)}`;
    const payload = JSON.stringify([['extensionDevelopmentPath', rootUri(devPath)], ['extensionTestsPath', rootUri(testsPath)]]);
    t0 = Date.now();
    await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    const result = await exited;
    clearTimeout(timer);
    await Promise.race([printing, new Promise((r) => setTimeout(r, 2000))]);
    if (result.timeout) {
      log(`FAILED: timed out after ${timeoutMs / 1000} s (HALOC_TEST_TIMEOUT_S) without codeAutomationExit`);
      return 124;
    }
    if (result.error) {
      log(`FAILED: ${result.error}`);
      return 2;
    }
    failed = false; // the suite ran: its own output explains any failure
    log(`suite finished with exit code ${result.code} (${secs(t0)} from page load)`);
    if (result.code === 0 && env.HALOC_SCREENSHOT === '1') {
      try {
        await screenshot(browser, base, workspace, rootUri(devPath), path.resolve(env.HALOC_SCREENSHOT_PATH || path.join(repoRoot, 'media', 'screenshot-models-view.png')));
      } catch (e) {
        log(`FAILED to take the screenshot: ${e instanceof Error ? e.message : String(e)}`);
        return 3;
      }
    }
    return result.code;
  } catch (e) {
    log(`FAILED: ${e instanceof Error ? e.stack : String(e)}`);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then((code) => process.exit(code), (e) => {
    console.error(e);
    process.exit(2);
  });
}
