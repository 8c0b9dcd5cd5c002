// External data: tensors whose bytes live in a side file next to the model (models over 2 GB).
// Locations come from the model file, so they are untrusted: they must stay inside the model's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage, HalocError } from '../errors';
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
  let stats: fs.Stats;
  try {
    stats = fs.statSync(filePath);
  } catch {
    throw new HalocError('MISSING_EXTERNAL_DATA', `external data file '${location}' of ${what} is missing (looked in ${modelDir})`);
  }
  if (!stats.isFile()) throw new HalocError('CORRUPT', `external data location '${location}' of ${what} is ${stats.isDirectory() ? 'a folder' : 'not a regular file'}, not a data file`);
  const sizeBytes = stats.size;
  const offsetBytes = parseNonNegative(entries.get('offset') ?? '0', 'offset', what);
  const lengthBytes = entries.has('length') ? parseNonNegative(entries.get('length') ?? '', 'length', what) : sizeBytes - offsetBytes;
  if (offsetBytes + lengthBytes > sizeBytes) {
    throw new HalocError('CORRUPT', `external data of ${what} ends at byte ${offsetBytes + lengthBytes} but '${location}' has only ${sizeBytes} bytes`);
  }
  // Later reads open the checked real file, so a link swapped after this check cannot redirect them.
  return { filePath: realPath(filePath), offsetBytes, lengthBytes };
}

/** The external data files a graph's initializers name (resolved against the model's folder, unchecked). */
export function externalDataFiles(graph: onnx.IGraphProto, modelDir: string): string[] {
  const locations = (graph.initializer ?? []).flatMap((t) => (t.externalData ?? []).filter((e) => e.key === 'location').map((e) => path.resolve(modelDir, e.value ?? '')));
  return [...new Set(locations)];
}

/** Reads the bytes of an external tensor (one read, no further copy); a file that changed or vanished since the model was read is an IO error. */
export function readExternalBytes(ref: ExternalDataRef): Uint8Array {
  const bytes = Buffer.allocUnsafe(ref.lengthBytes);
  let fd: number;
  try {
    fd = fs.openSync(ref.filePath, 'r');
  } catch (error) {
    throw new HalocError('IO', `external data file ${ref.filePath} cannot be opened (${errorMessage(error)})`);
  }
  try {
    let done = 0;
    while (done < ref.lengthBytes) {
      const n = readChunk(fd, bytes, done, ref);
      if (n === 0) throw new HalocError('CORRUPT', `external data file ${ref.filePath} is shorter than the model says`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}

function readChunk(fd: number, bytes: Buffer, done: number, ref: ExternalDataRef): number {
  try {
    return fs.readSync(fd, bytes, done, ref.lengthBytes - done, ref.offsetBytes + done);
  } catch (error) {
    throw new HalocError('IO', `external data file ${ref.filePath} cannot be read (${errorMessage(error)})`);
  }
}

/**
 * Resolves a relative path read from a model or plan file, refusing (UNSAFE_PATH) anything that leaves
 * `baseDir`: absolute paths, drive letters, NUL bytes, `..` steps out, and symlinks (of the file or of a
 * folder on the way) whose target lies outside.
 */
export function safePathInside(baseDir: string, relativePath: string, what: string): string {
  if (relativePath.includes('\0')) throw new HalocError('UNSAFE_PATH', `${what}: path ${JSON.stringify(relativePath)} holds a NUL byte and is refused`);
  if (path.isAbsolute(relativePath) || /^[a-zA-Z]:[\\/]/.test(relativePath)) {
    throw new HalocError('UNSAFE_PATH', `${what}: absolute path '${relativePath}' refused; paths must be relative to the model's folder`);
  }
  const resolved = path.resolve(baseDir, relativePath);
  if (!isInside(path.resolve(baseDir), resolved)) {
    throw new HalocError('UNSAFE_PATH', `${what}: path '${relativePath}' leaves the model's folder and is refused`);
  }
  if (fs.existsSync(resolved) && !isInside(realPath(baseDir), realPath(resolved))) {
    throw new HalocError('UNSAFE_PATH', `${what}: '${relativePath}' is a link to a place outside the model's folder and is refused`);
  }
  return resolved;
}

function realPath(filePath: string): string {
  try {
    return fs.realpathSync(filePath);
  } catch (error) {
    throw new HalocError('IO', `${filePath}: cannot resolve its links (${errorMessage(error)})`);
  }
}

/** True when `candidate` lies strictly inside `dir` (both resolved paths; no link is followed). */
export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function parseNonNegative(text: string, field: string, what: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new HalocError('CORRUPT', `external data of ${what} has an invalid ${field} '${text}'`);
  return value;
}
