// External data: tensors whose bytes live in a side file next to the model (models over 2 GB).
// Locations come from the model file, so they are untrusted: they must stay inside the model's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HalocError } from '../errors';
import type { onnx } from './proto';

/** Where a tensor's bytes are: an absolute file path checked to lie inside the model's folder. */
export interface ExternalDataRef {
  readonly filePath: string;
  readonly offsetBytes: number;
  readonly lengthBytes: number;
}

/** Reads the `externalData` entries of a tensor and checks that the file exists and is long enough. */
export function resolveExternalData(tensor: onnx.ITensorProto, modelDir: string): ExternalDataRef {
  const entries = new Map((tensor.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  const what = `tensor '${tensor.name ?? ''}'`;
  if (!location) throw new HalocError('CORRUPT', `${what} says its data is external but gives no location`);
  const filePath = safePathInside(modelDir, location, `external data of ${what}`);
  let sizeBytes: number;
  try {
    sizeBytes = fs.statSync(filePath).size;
  } catch {
    throw new HalocError('MISSING_EXTERNAL_DATA', `external data file '${location}' of ${what} is missing (looked in ${modelDir})`);
  }
  const offsetBytes = parseNonNegative(entries.get('offset') ?? '0', 'offset', what);
  const lengthBytes = entries.has('length') ? parseNonNegative(entries.get('length') ?? '', 'length', what) : sizeBytes - offsetBytes;
  if (offsetBytes + lengthBytes > sizeBytes) {
    throw new HalocError('CORRUPT', `external data of ${what} ends at byte ${offsetBytes + lengthBytes} but '${location}' has only ${sizeBytes} bytes`);
  }
  return { filePath, offsetBytes, lengthBytes };
}

/** The external data files a graph's initializers name (resolved against the model's folder, unchecked). */
export function externalDataFiles(graph: onnx.IGraphProto, modelDir: string): string[] {
  const locations = (graph.initializer ?? []).flatMap((t) => (t.externalData ?? []).filter((e) => e.key === 'location').map((e) => path.resolve(modelDir, e.value ?? '')));
  return [...new Set(locations)];
}

/** Reads the bytes of an external tensor (one read, no further copy). */
export function readExternalBytes(ref: ExternalDataRef): Uint8Array {
  const bytes = Buffer.allocUnsafe(ref.lengthBytes);
  const fd = fs.openSync(ref.filePath, 'r');
  try {
    let done = 0;
    while (done < ref.lengthBytes) {
      const n = fs.readSync(fd, bytes, done, ref.lengthBytes - done, ref.offsetBytes + done);
      if (n === 0) throw new HalocError('CORRUPT', `external data file ${ref.filePath} is shorter than the model says`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}

/** Resolves a relative path read from a model or plan file, refusing anything that leaves `baseDir`. */
export function safePathInside(baseDir: string, relativePath: string, what: string): string {
  if (path.isAbsolute(relativePath) || /^[a-zA-Z]:[\\/]/.test(relativePath) || relativePath.includes('\0')) {
    throw new HalocError('UNSAFE_PATH', `${what}: absolute path '${relativePath}' refused; paths must be relative to the model's folder`);
  }
  const resolved = path.resolve(baseDir, relativePath);
  if (!isInside(path.resolve(baseDir), resolved)) {
    throw new HalocError('UNSAFE_PATH', `${what}: path '${relativePath}' leaves the model's folder and is refused`);
  }
  if (fs.existsSync(resolved) && !isInside(fs.realpathSync(baseDir), fs.realpathSync(resolved))) {
    throw new HalocError('UNSAFE_PATH', `${what}: '${relativePath}' is a link to a place outside the model's folder and is refused`);
  }
  return resolved;
}

function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function parseNonNegative(text: string, field: string, what: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new HalocError('CORRUPT', `external data of ${what} has an invalid ${field} '${text}'`);
  return value;
}
