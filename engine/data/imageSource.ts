// Where the image files of an ImageFolder come from: a folder on disk or a .tar of one. Lists the
// images, reads their bytes, and identifies the source for the decoded-tensor cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage, HalocError } from '../errors';
import { isImageFileName } from './decodeImage';
import { readTarEntries } from './tarReader';

/** The image files of a source, readable by relative path. */
export interface ImageSource {
  /** The path the user gave, for messages. */
  readonly name: string;
  /** '/'-separated relative paths of the image files. */
  readonly paths: readonly string[];
  /** Identifies the source's contents (path, size, modification time) for the cache key. */
  readonly identity: string;
  /** Reads the bytes of one image file. */
  read(relativePath: string): Uint8Array;
}

/** Opens a folder or a .tar archive as an image source. */
export function openImageSource(sourcePath: string): ImageSource {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(sourcePath);
  } catch {
    throw new HalocError('NOT_FOUND', `${sourcePath}: no such file or folder; check the --data path`);
  }
  if (stat.isDirectory()) return openFolder(sourcePath);
  if (/\.tar$/i.test(sourcePath)) return openTar(sourcePath, stat);
  throw new HalocError('UNSUPPORTED', `${sourcePath}: not a folder, .tar, .npy or .npz; give an ImageFolder (or a .tar of one) or a tensor file`);
}

function openTar(tarPath: string, stat: fs.Stats): ImageSource {
  // The archive is read on first use, so that a cache hit (which needs only the identity) never reads it.
  let files: Map<string, Uint8Array> | undefined;
  const load = (): Map<string, Uint8Array> => {
    if (!files) {
      files = new Map();
      for (const entry of readTarEntries(readBytes(tarPath), tarPath)) if (isImageFileName(entry.name)) files.set(entry.name, entry.data);
    }
    return files;
  };
  return {
    name: tarPath,
    get paths() {
      return [...load().keys()];
    },
    identity: JSON.stringify(['tar', path.resolve(tarPath), stat.size, stat.mtimeMs]),
    read: (relativePath) => load().get(relativePath) ?? new Uint8Array(0),
  };
}

function openFolder(folder: string): ImageSource {
  const paths: string[] = [];
  const identity: (string | number)[] = ['folder', path.resolve(folder)];
  const walk = (relative: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(folder, relative), { withFileTypes: true });
    } catch (error) {
      throw new HalocError('IO', `${path.join(folder, relative)}: cannot be listed (${errorMessage(error)}); check its permissions`);
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && isImageFileName(entry.name)) {
        const stat = fs.statSync(path.join(folder, child));
        paths.push(child);
        identity.push(child, stat.size, stat.mtimeMs);
      }
    }
  };
  walk('');
  return { name: folder, paths, identity: JSON.stringify(identity), read: (relativePath) => readBytes(path.join(folder, relativePath)) };
}

function readBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new HalocError('IO', `${file}: cannot be read (${errorMessage(error)}); check that it exists and is readable`);
  }
}
