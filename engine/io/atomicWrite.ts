// Writes files so that a reader never sees a partial one: each file is staged as a temporary file in
// the target's folder (written, fsynced) and renamed into place only when every file of the write is
// staged. On any failure, or a cancel (checked between pieces of 16 MB and before the renames), the
// temporary files are removed and the targets are left as they were.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { errorMessage, HalocError } from '../errors';

/** The most bytes written between two cancel checks. */
const pieceBytes = 16 * 2 ** 20;

/** A file written to a temporary path, waiting to be renamed into place. */
export interface StagedFile {
  readonly target: string;
  /** Renames the temporary file onto the target. */
  commit(): void;
  /** Removes the temporary file (never throws). */
  discard(): void;
}

/** Writes `chunks` to a temporary file next to `targetPath`; refuses targets that are `protectedPaths`. */
export function stageFile(targetPath: string, chunks: readonly Uint8Array[], protectedPaths: readonly string[] = [], cancel: CancelSignal = neverCancelled): StagedFile {
  const target = path.resolve(targetPath);
  if (isDirectory(target)) throw new HalocError('IO', `${targetPath}: cannot be written (it is a folder); nothing was written`);
  if (protectedPaths.some((p) => isSameFile(target, path.resolve(p)))) {
    throw new HalocError('BAD_ARGUMENT', `${targetPath}: refusing to overwrite the input model or its data; choose another output path`);
  }
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const discard = (): void => {
    try {
      fs.rmSync(temporary, { force: true });
    } catch {
      // the folder itself is unusable: nothing was created there
    }
  };
  let fd: number | undefined;
  try {
    fd = fs.openSync(temporary, 'wx');
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) {
        cancel.throwIfCancelled();
        written += fs.writeSync(fd, chunk, written, Math.min(pieceBytes, chunk.length - written));
      }
    }
    fs.fsyncSync(fd);
  } catch (error) {
    discard();
    if (error instanceof HalocError && error.code === 'CANCELLED') throw error;
    throw new HalocError('IO', `${targetPath}: cannot be written (${errorMessage(error)}); nothing was written`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return {
    target,
    commit: () => {
      try {
        fs.renameSync(temporary, target);
      } catch (error) {
        discard();
        throw new HalocError('IO', `${targetPath}: cannot be written (${errorMessage(error)}); nothing was written`);
      }
    },
    discard,
  };
}

/** Stages every file, then renames them all into place; on failure or a cancel none of them is left, not even half-written. */
export function writeFilesAtomic(files: readonly { readonly path: string; readonly chunks: readonly Uint8Array[] }[], protectedPaths: readonly string[] = [], cancel: CancelSignal = neverCancelled): void {
  const staged: StagedFile[] = [];
  try {
    for (const file of files) staged.push(stageFile(file.path, file.chunks, protectedPaths, cancel));
    cancel.throwIfCancelled();
    for (const file of staged) file.commit();
  } catch (error) {
    staged.forEach((file) => file.discard());
    throw error;
  }
}

/** Writes one file atomically; refuses to overwrite any of `protectedPaths` (the input model). */
export function writeFileAtomic(targetPath: string, chunks: readonly Uint8Array[], protectedPaths: readonly string[] = [], cancel: CancelSignal = neverCancelled): void {
  writeFilesAtomic([{ path: targetPath, chunks }], protectedPaths, cancel);
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** True when both paths name the same existing file (same path, or same inode through links). */
export function isSameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}
