// Writes files so that a reader never sees a partial one: temporary file in the same folder, fsync,
// rename. On any failure the temporary file is removed and the target is left as it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage, HalocError } from '../errors';

/** Writes `chunks` to `targetPath` atomically; refuses to overwrite `protectedPath` (the input model). */
export function writeFileAtomic(targetPath: string, chunks: readonly Uint8Array[], protectedPath?: string): void {
  const target = path.resolve(targetPath);
  if (protectedPath && sameFile(target, path.resolve(protectedPath))) {
    throw new HalocError('BAD_ARGUMENT', `${targetPath}: refusing to overwrite the input model; choose another output path`);
  }
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temporary, 'wx');
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) written += fs.writeSync(fd, chunk, written, chunk.length - written);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temporary, target);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw new HalocError('IO', `${targetPath}: cannot be written (${errorMessage(error)}); nothing was written`);
  }
}

function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}
