// The extension's side of the engine worker, outside VS Code (it imports vscode only as types): a worker
// that outgrows its heap limit ends alone and its job fails with a message naming the limit; a worker
// that exits fails its job; the next job starts a fresh worker and succeeds.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { HalocError } from '../../../engine/errors';
import { EngineClient } from '../../../extension/engineClient';
import { makeTempDir, removeDir } from '../testSupport';

/** A worker script: on 'start', grows a JS array without end for job 1, exits for job 2, answers job 3. */
const workerSource = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (m) => {
  if (m.type !== 'start') return;
  if (m.jobId === 1) { const hoard = []; for (;;) hoard.push({ a: new Array(1000).fill(Math.random()) }); }
  if (m.jobId === 2) process.exit(3);
  parentPort.postMessage({ type: 'result', jobId: m.jobId, result: { ok: m.jobId } });
});
`;

/** The log methods EngineClient calls, recording the errors. */
function quietLog(errors: string[]): vscode.LogOutputChannel {
  return { error: (text: string) => errors.push(text), debug: () => undefined, info: () => undefined, warn: () => undefined, trace: () => undefined } as unknown as vscode.LogOutputChannel;
}

describe('EngineClient', function () {
  this.timeout(60000);
  let dir = '';
  before(() => {
    dir = makeTempDir('haloc-engine-client-');
    fs.writeFileSync(path.join(dir, 'worker.js'), workerSource);
  });
  after(() => removeDir(dir));

  it('a job past the heap limit fails with the limit named, the host lives on, and the next job gets a fresh worker', async function () {
    const errors: string[] = [];
    const client = new EngineClient(path.join(dir, 'worker.js'), quietLog(errors), () => 32);
    try {
      const run = (): Promise<unknown> => client.run('search', {} as never);
      await assert.rejects(run(), (e: unknown) => e instanceof HalocError && /memory limit of 32 MB/.test(e.message) && !e.message.includes('\n'));
      await assert.rejects(run(), /the engine worker stopped \(exit code 3\)/);
      assert.deepEqual(await run(), { ok: 3 });
      assert.ok(errors.some((e) => /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(e)), errors.join('\n'));
    } finally {
      client.dispose();
    }
  });
});
