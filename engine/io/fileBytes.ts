// The bytes files take on disk.
import * as fs from 'node:fs';

/** The summed size of `files` (bytes); a file that does not exist counts 0. */
export function filesBytes(files: readonly string[]): number {
  return files.reduce((sum, file) => {
    try {
      return sum + fs.statSync(file).size;
    } catch {
      return sum;
    }
  }, 0);
}
