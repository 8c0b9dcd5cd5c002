// Helpers of the data tests: temporary folders, small JPEG/PNG files, tar archives (written by
// tar-stream, an implementation independent of the reader under test) and .npy files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { pack } from 'tar-stream';
import { HalocError, type HalocErrorCode } from '../../../engine/errors';

/** A fresh temporary folder; remove it with fs.rmSync(dir, { recursive: true }). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-data-'));
}

/** RGB pixels [height, width, 3] from a function of (y, x, channel). */
export function rgbImage(height: number, width: number, value: (y: number, x: number, c: number) => number): Uint8Array {
  const rgb = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = value(y, x, c);
  return rgb;
}

function rgba(rgb: Uint8Array): Buffer {
  const out = Buffer.alloc((rgb.length / 3) * 4, 255);
  for (let p = 0; p < rgb.length / 3; p++) for (let c = 0; c < 3; c++) out[p * 4 + c] = rgb[p * 3 + c] ?? 0;
  return out;
}

/** PNG bytes of an RGB image. */
export function encodePng(rgb: Uint8Array, height: number, width: number): Buffer {
  const png = new PNG({ width, height });
  rgba(rgb).copy(png.data);
  return PNG.sync.write(png);
}

/** JPEG bytes of an RGB image at quality 95. */
export function encodeJpeg(rgb: Uint8Array, height: number, width: number): Buffer {
  return jpeg.encode({ data: rgba(rgb), width, height }, 95).data;
}

/** Writes files (relative path -> bytes) under `root`. */
export function writeFiles(root: string, files: Record<string, Uint8Array>): void {
  for (const [name, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), bytes);
  }
}

/** A tar archive of files (relative path -> bytes), written by tar-stream. */
export async function tarBytes(files: Record<string, Uint8Array>): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    archive.on('data', (chunk: unknown) => chunks.push(Buffer.from(chunk as Uint8Array)));
    archive.on('end', () => resolve());
    archive.on('error', reject);
  });
  for (const [name, bytes] of Object.entries(files)) archive.entry({ name }, Buffer.from(bytes));
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The bytes of a version-1 .npy file. */
export function npyBytes(dtype: '<f4' | '|u1' | '<i8' | '<i4' | '<f8', shape: readonly number[], values: ArrayLike<number>): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix[0] = 0x93;
  prefix.write('NUMPY', 1, 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  const data = Array.from(values);
  const body =
    dtype === '<f4' ? Buffer.from(Float32Array.from(data).buffer)
    : dtype === '<f8' ? Buffer.from(Float64Array.from(data).buffer)
    : dtype === '<i4' ? Buffer.from(Int32Array.from(data).buffer)
    : dtype === '<i8' ? Buffer.from(BigInt64Array.from(data.map(BigInt)).buffer)
    : Buffer.from(Uint8Array.from(data));
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

/** Asserts that `run` throws a HalocError of `code` with a one-line message matching `pattern`. */
export function assertHalocError(run: () => unknown, code: HalocErrorCode, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof HalocError, `expected a HalocError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), `message is not one line: ${error.message}`);
    return true;
  });
}

/** Asserts that two arrays agree element-wise within `tolerance`. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, 'lengths differ');
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN, e = expected[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= tolerance, `element ${i}: ${a} differs from ${e} by more than ${tolerance}`);
  }
}
