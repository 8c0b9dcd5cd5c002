// The ImageFolder convention: one sub-folder per class (class index = position in sorted order),
// possibly below a single top folder (e.g. `test/<class>/0001.jpg`); finds the level that holds the classes.
import { HalocError } from '../errors';

/** An image file of an ImageFolder with its class index. */
export interface LabelledPath {
  readonly path: string;
  readonly label: number;
}

/** The classes of an ImageFolder and its images, sorted by class then path. */
export interface FolderLayout {
  readonly classNames: string[];
  readonly files: LabelledPath[];
}

/** Classes and labelled images from the '/'-separated relative paths of the image files of a source. */
export function classifyImagePaths(paths: readonly string[], sourceName: string): FolderLayout {
  const visible = paths.map((p) => p.split('/').filter((c) => c !== '')).filter((parts) => !parts.some((c) => c.startsWith('.') || c === '__MACOSX'));
  if (visible.length === 0) throw new HalocError('NOT_FOUND', `${sourceName}: no JPEG or PNG images found; point --data at an ImageFolder (one sub-folder of images per class)`);
  let depth = 0;
  for (;;) {
    const below = visible.filter((parts) => parts.length > depth + 1);
    const filesHere = visible.length - below.length;
    const folders = new Set(below.map((parts) => parts[depth]));
    const hasSubFolders = below.some((parts) => parts.length > depth + 2);
    if (filesHere > 0 || folders.size !== 1 || !hasSubFolders) break;
    depth++;
  }
  const byClass = new Map<string, string[]>();
  for (const parts of visible) {
    if (parts.length <= depth + 1) continue;
    const name = parts[depth] ?? '';
    const list = byClass.get(name) ?? [];
    list.push(parts.join('/'));
    byClass.set(name, list);
  }
  if (byClass.size === 0) throw new HalocError('NOT_FOUND', `${sourceName}: images but no class sub-folders; put each class's images in a sub-folder named after the class`);
  const classNames = [...byClass.keys()].sort(compareCodePoints);
  const files = classNames.flatMap((name, label) => (byClass.get(name) ?? []).sort(compareCodePoints).map((path) => ({ path, label })));
  return { classNames, files };
}

/** At most `limit` files, taken round-robin over the classes so that a partial load keeps every class; order kept. */
export function limitPerClass(files: readonly LabelledPath[], limit: number | undefined): LabelledPath[] {
  if (limit === undefined || limit >= files.length) return [...files];
  const classes = new Map<number, LabelledPath[]>();
  for (const file of files) {
    const list = classes.get(file.label) ?? [];
    list.push(file);
    classes.set(file.label, list);
  }
  const chosen = new Set<LabelledPath>();
  for (let round = 0; chosen.size < limit; round++) {
    for (const list of classes.values()) {
      const file = list[round];
      if (file && chosen.size < limit) chosen.add(file);
    }
  }
  return files.filter((file) => chosen.has(file));
}

/** Sorts as Python's sorted() does on str (by code point), independent of locale. */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
