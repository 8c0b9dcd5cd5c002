// The memory limit of a search or compression: refused up front with the figures (model size, the memory
// it would need, the limit and where to change it), before any work; no limit at 0; the CLI's
// --memory-limit-mb and the jobs' memoryLimitMb.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { neverCancelled } from '../../../engine/cancellation';
import { runCli } from '../../../engine/cli/main';
import { HalocError } from '../../../engine/errors';
import { checkMemoryLimit, peakPerModelByte, runtimeMb } from '../../../engine/io/memoryLimit';
import { runSearchJob } from '../../../engine/search/searchJob';
import { fastJobSettings, writeJobFiles, type JobFiles } from '../search/jobSupport';
import { expectHalocError, makeTempDir, removeDir } from '../testSupport';

describe('memory limit', function () {
  this.timeout(60000);
  let dir = '';
  let files: JobFiles;
  before(async () => {
    dir = makeTempDir('haloc-memory-limit-');
    files = await writeJobFiles(dir);
  });
  after(() => removeDir(dir));

  it('refuses a model whose search would need more than the limit, naming the figures and the setting', async () => {
    const bytes = 550 * 2 ** 20;
    const needGb = (runtimeMb + peakPerModelByte * 550) / 1024;
    const error = await expectHalocError(() => checkMemoryLimit(bytes, 4096, 'vgg16.onnx'), 'TOO_LARGE');
    assert.match(error.message, /^vgg16\.onnx: the model has 550 MB of weights/);
    assert.ok(error.message.includes(`${needGb.toFixed(1)} GB`), error.message);
    assert.match(error.message, /limit of 4\.0 GB \(setting haloc\.limits\.memoryMB, or --memory-limit-mb\); nothing was started$/);
    checkMemoryLimit(bytes, Math.ceil(needGb * 1024) + 1, 'vgg16.onnx');
    checkMemoryLimit(bytes, 0, 'vgg16.onnx');
  });

  it('a search job is refused before it reads any data', async () => {
    const progress: string[] = [];
    await assert.rejects(runSearchJob(fastJobSettings(files), neverCancelled, (m) => progress.push(m), 1), (e: unknown) => e instanceof HalocError && e.code === 'TOO_LARGE');
    assert.deepEqual(progress, ['reading and analysing the model']);
  });

  it('haloc search --memory-limit-mb refuses with exit code 1 and one line', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['search', files.modelPath, '--data', files.dataDir, '--mode', 'fast', '--target', files.tablePath, '--memory-limit-mb', '1'], (t) => out.push(t), (t) => err.push(t));
    assert.equal(code, 1);
    assert.match(err.join('\n'), new RegExp(`${path.basename(files.modelPath).replace('.', '\\.')}: the model has 0 MB of weights .* over the limit of 0\\.0 GB`));
  });
});
