// Failures leave no file: an unwritable output folder, an output path whose folder is a regular file
// or does not exist, an output path that is an existing folder (with an external-data input, whose
// `<output>.data` is written before the model), an output path equal to the input (refused before any
// work, input unchanged), and a cancel during the output check. After each: exit code 1 with one line
// (through the CLI), no partial *.tmp, no output or data file, the input's bytes unchanged.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SharedCancelFlag } from '../../../engine/cancellation';
import { compressModel } from '../../../engine/factorize/compressModel';
import { expectHalocError, makeTempDir, removeDir, runHaloc } from '../testSupport';
import { assertFolderHolds, cifarResNet, sha256, writeModel } from './factorizeSupport';

/** Whether chmod 0o555 stops this process from creating files (not for root, nor with CAP_DAC_OVERRIDE). */
function chmodStopsWrites(): boolean {
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-chmod-probe-'));
  try {
    fs.chmodSync(probeDir, 0o555);
    try {
      fs.writeFileSync(path.join(probeDir, 'probe'), 'x');
      return false;
    } catch {
      return true;
    }
  } finally {
    fs.chmodSync(probeDir, 0o755);
    fs.rmSync(probeDir, { recursive: true, force: true });
  }
}

/** `haloc compress` that must fail with exit 1 and one stderr line, printing nothing on stdout. */
async function expectCliFailure(argv: readonly string[], pattern: RegExp): Promise<string> {
  const result = await runHaloc(['compress', ...argv]);
  assert.equal(result.code, 1, `exit code (stderr: ${result.stderr})`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one stderr line: ${result.stderr}`);
  assert.match(lines[0] ?? '', pattern);
  return lines[0] ?? '';
}

const readOnlyWorks = chmodStopsWrites();

describe('factorize: failures leave no file', function () {
  let dir = '';
  let input = '';
  let inputSum = '';
  before(function () {
    dir = makeTempDir('haloc-factorize-failures-');
    input = writeModel(cifarResNet(1), dir, 'resnet8.onnx');
    inputSum = sha256(input);
  });
  afterEach(() => assert.equal(sha256(input), inputSum, 'the input model changed'));
  after(function () {
    for (const sub of ['readonly']) if (fs.existsSync(path.join(dir, sub))) fs.chmodSync(path.join(dir, sub), 0o755);
    removeDir(dir);
  });

  if (readOnlyWorks) {
    it('a read-only output folder (chmod 0o555): exit 1, one line, nothing left in the folder', async function () {
      const target = path.join(dir, 'readonly');
      fs.mkdirSync(target);
      fs.chmodSync(target, 0o555);
      await expectCliFailure([input, '--uniform', '0.5', '-o', path.join(target, 'out.onnx')], /cannot be written/);
      assertFolderHolds(target, [], 'the read-only folder');
    });
  } else {
    it('a read-only output folder cannot be made here (running as root: chmod 0o555 does not stop writes), so: an output path inside a regular FILE used as a folder (ENOTDIR): exit 1, one line, nothing left', async function () {
      const plainFile = path.join(dir, 'not-a-folder');
      fs.writeFileSync(plainFile, 'just a file\n');
      try {
        await expectCliFailure([input, '--uniform', '0.5', '-o', path.join(plainFile, 'out.onnx')], /cannot be written/);
        assert.equal(fs.readFileSync(plainFile, 'utf8'), 'just a file\n', 'the file used as a folder is unchanged');
        assertFolderHolds(dir, ['not-a-folder', 'resnet8.onnx'], 'the input folder');
      } finally {
        fs.rmSync(plainFile);
      }
    });
  }

  it('an output path in a folder that does not exist: exit 1, one line, the folder is not created', async function () {
    const missing = path.join(dir, 'no-such-folder');
    await expectCliFailure([input, '--uniform', '0.5', '-o', path.join(missing, 'out.onnx')], /cannot be written/);
    assert.ok(!fs.existsSync(missing));
    assertFolderHolds(dir, ['resnet8.onnx'], 'the input folder');
  });

  it('an output path equal to the input (also spelled differently): refused with exit 1 before any work; the input unchanged, nothing added', async function () {
    const spellings = [input, path.join(dir, '.', 'sub', '..', 'resnet8.onnx'), path.relative(process.cwd(), input)];
    for (const spelling of spellings) {
      const line = await expectCliFailure([input, '--uniform', '0.5', '-o', spelling], /refusing to overwrite the input/);
      assert.ok(!line.includes('internal error'), line);
    }
    const link = path.join(os.tmpdir(), `haloc-link-${process.pid}.onnx`);
    fs.symlinkSync(input, link);
    try {
      await expectCliFailure([input, '--uniform', '0.5', '-o', link], /refusing to overwrite the input/);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is left as it was');
    } finally {
      fs.rmSync(link);
    }
    assertFolderHolds(dir, ['resnet8.onnx'], 'the input folder');
  });

  it('an output path that is an existing folder, input with external data: fails, and no <output>.data or *.tmp is left behind', async function () {
    const externalDir = path.join(dir, 'external');
    fs.mkdirSync(externalDir);
    const externalInput = writeModel(cifarResNet(1), externalDir, 'ext.onnx', 100);
    const sums = [sha256(externalInput), sha256(`${externalInput}.data`)];
    const blocker = path.join(externalDir, 'out.onnx');
    fs.mkdirSync(blocker);
    try {
        await expectCliFailure([externalInput, '--uniform', '0.5', '-o', blocker], /cannot be written/);
      assertFolderHolds(externalDir, ['ext.onnx', 'ext.onnx.data', 'out.onnx'], 'the folder after the failed write');
      assert.deepEqual(fs.readdirSync(blocker), [], 'nothing written into the folder in the way');
      assert.deepEqual([sha256(externalInput), sha256(`${externalInput}.data`)], sums, 'the external-data input is unchanged');
    } finally {
      fs.rmSync(externalDir, { recursive: true });
    }
  });

  it('cancelled during the output check: a CANCELLED error and no output file', async function () {
    const flag = new SharedCancelFlag();
    const output = path.join(dir, 'cancelled.onnx');
    await expectHalocError(
      () => compressModel(input, { choice: { kind: 'uniform', fraction: 0.5 }, outputPath: output }, flag, (message) => {
        if (message.startsWith('checking')) flag.cancel();
      }),
      'CANCELLED',
      'a cancelled compress',
    );
    assertFolderHolds(dir, ['resnet8.onnx'], 'the input folder');
  });
});
