// Faults during a job (issue 8, item 3) on the known-answer model: a cancel while the ONNX file is being
// written, a full disk (a filled 64 KiB tmpfs), a read-only output folder (a read-only tmpfs), the model changed
// or deleted while a search runs. After each: a clear one-line error, no partial or temporary file, the
// original byte-identical, and the next job works. The disk cases mount tmpfs and so need root (as on
// the project machines and in CI); elsewhere they skip with a message.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { neverCancelled, type CancelSignal } from '../../../engine/cancellation';
import { HalocError } from '../../../engine/errors';
import { writeFileAtomic } from '../../../engine/io/atomicWrite';
import { runCompressJob, type CompressJobRequest } from '../../../engine/search/compressJob';
import { runSearchJob, type SearchJobSettings } from '../../../engine/search/searchJob';
import type { FastSearchResult } from '../../../engine/search/searchResult';
import { expectHalocError, makeTempDir, removeDir } from '../testSupport';
import { fastJobSettings, pointRequest, writeJobFiles, type JobFiles } from './jobSupport';

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A cancel signal that trips at its `n`-th check. */
function cancelAtCheck(n: number): CancelSignal & { checks: number } {
  const signal = {
    checks: 0,
    cancelled: false,
    throwIfCancelled(): void {
      signal.checks++;
      if (signal.checks >= n) {
        signal.cancelled = true;
        throw new HalocError('CANCELLED', 'cancelled');
      }
    },
  };
  return signal;
}

/** Mounts a tmpfs of `sizeKib` at `dir` (read-only when asked); false when this process may not mount. */
function mountTmpfs(dir: string, sizeKib: number, readOnly = false): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `${readOnly ? 'ro,' : ''}size=${sizeKib}k`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
}

describe('search: faults during a job lose nothing', function () {
  this.timeout(120000);
  let dir = '';
  let files: JobFiles;
  let settings: SearchJobSettings;
  let result: FastSearchResult;
  let originalHash = '';

  before(async () => {
    dir = makeTempDir('haloc-job-faults-');
    files = await writeJobFiles(dir);
    originalHash = sha256(files.modelPath);
    settings = fastJobSettings(files);
    result = (await runSearchJob(settings, neverCancelled, () => undefined)).result as FastSearchResult;
  });
  after(() => removeDir(dir));

  const request = (outputPath: string): CompressJobRequest => pointRequest(settings, result, 1, outputPath);

  /** The next job, to a usable folder, works; the original is as it was. */
  const nextJobWorks = async (name: string): Promise<void> => {
    const output = path.join(dir, name);
    await runCompressJob(request(output), neverCancelled, () => undefined);
    assert.ok(fs.statSync(output).size > 0);
    fs.rmSync(output);
    assert.equal(sha256(files.modelPath), originalHash, 'the original changed');
  };

  it('a cancel while the file is written (between its pieces, or before the rename) leaves no file', () => {
    const folder = fs.mkdtempSync(path.join(dir, 'cancel-'));
    const target = path.join(folder, 'big.onnx');
    const bytes = new Uint8Array(40 * 2 ** 20); // three 16 MB pieces
    for (const n of [2, 4]) {
      const signal = cancelAtCheck(n);
      expectHalocError(() => writeFileAtomic(target, [bytes], [], signal), 'CANCELLED');
      assert.equal(signal.checks, n);
      assert.deepEqual(fs.readdirSync(folder), [], `cancelled at check ${n}: files left ${fs.readdirSync(folder).join(', ')}`);
    }
  });

  it('a compression cancelled at its write writes nothing, and the next one works', async () => {
    const output = path.join(dir, 'cancelled.onnx');
    // its last checks are the ones of the write: trip the job's checks at growing counts until one lands in the write
    let cancelledInWrite = false;
    for (let n = 1; n < 400 && !cancelledInWrite; n++) {
      const signal = cancelAtCheck(n);
      let writing = false;
      try {
        await runCompressJob(request(output), signal, (message) => {
          if (message.startsWith('writing')) writing = true;
        });
        break; // n exceeds the job's checks: it finished
      } catch (error) {
        assert.ok(error instanceof HalocError && error.code === 'CANCELLED', String(error));
        assert.ok(!fs.existsSync(output), `cancelled at check ${n}: the output exists`);
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
        cancelledInWrite = writing;
      }
    }
    assert.ok(cancelledInWrite, 'no cancel landed during the write');
    fs.rmSync(output, { force: true });
    await nextJobWorks('after-cancel.onnx');
  });

  it('a full disk fails with the reason, leaves no partial file, and the next job works', async function () {
    const full = fs.mkdtempSync(path.join(dir, 'full-'));
    if (!mountTmpfs(full, 64)) {
      console.log('    skipped: mounting a small tmpfs needs root');
      this.skip();
    }
    try {
      // fill it: the model does not fit
      const stats = fs.statfsSync(full);
      fs.writeFileSync(path.join(full, 'filler'), new Uint8Array(stats.bavail * stats.bsize));
      const output = path.join(full, 'model.haloc.onnx');
      await assert.rejects(runCompressJob(request(output), neverCancelled, () => undefined), (e: unknown) => e instanceof HalocError && e.code === 'IO' && /ENOSPC|no space/i.test(e.message) && !e.message.includes('\n'));
      assert.deepEqual(fs.readdirSync(full), ['filler'], 'a partial or temporary file was left');
    } finally {
      unmount(full);
    }
    await nextJobWorks('after-full.onnx');
  });

  it('a read-only output folder fails with the reason, writes nothing, and the next job works', async function () {
    const readOnly = fs.mkdtempSync(path.join(dir, 'ro-'));
    if (!mountTmpfs(readOnly, 1024, true)) {
      console.log('    skipped: mounting a read-only tmpfs needs root');
      this.skip();
    }
    try {
      const output = path.join(readOnly, 'model.haloc.onnx');
      await assert.rejects(runCompressJob(request(output), neverCancelled, () => undefined), (e: unknown) => e instanceof HalocError && e.code === 'IO' && /EROFS|read-only/i.test(e.message));
      assert.deepEqual(fs.readdirSync(readOnly), []);
    } finally {
      unmount(readOnly);
    }
    await nextJobWorks('after-ro.onnx');
  });

  it('the model deleted while a search runs: the search finishes on what it read, the compression then says the model is gone', async () => {
    const copy = path.join(dir, 'vanishing.onnx');
    fs.copyFileSync(files.modelPath, copy);
    const search = { ...settings, modelPath: copy };
    let deleted = false;
    let reports = 0;
    const outcome = await runSearchJob(search, neverCancelled, () => {
      // at the second progress report: the first one announces the reading of the model
      if (++reports === 2) {
        fs.rmSync(copy);
        deleted = true;
      }
    });
    assert.ok(deleted, 'the model was not deleted during the search');
    const output = path.join(dir, 'vanishing.haloc.onnx');
    await assert.rejects(runCompressJob(pointRequest(search, outcome.result, 1, output), neverCancelled, () => undefined), (e: unknown) => e instanceof HalocError && e.code === 'NOT_FOUND' && !e.message.includes('\n'));
    assert.ok(!fs.existsSync(output));
    await nextJobWorks('after-delete.onnx');
  });
});
