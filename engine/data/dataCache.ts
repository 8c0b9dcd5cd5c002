// On-disk cache of decoded images, keyed by the source's identity (path, size, modification time) and
// the settings that shaped the pixels, so that a second load reads one tensor instead of decoding again.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite';
import type { RawImages } from './imageSet';

const MAGIC = 'HALOCDS1';

/** The default folder of decoded-data caches: `$HALOC_CACHE_DIR/data` or ~/.cache/haloc/data. */
export function defaultDataCacheDir(): string {
  const root = process.env.HALOC_CACHE_DIR;
  return root ? path.join(root, 'data') : path.join(os.homedir(), '.cache', 'haloc', 'data');
}

/** The cache file for a source identity and the settings that decide its pixels. */
export function dataCacheFile(cacheDir: string, identity: string, settings: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify([MAGIC, identity, settings])).digest('hex').slice(0, 32);
  return path.join(cacheDir, `${hash}.images`);
}

/** Reads cached uint8 images, or undefined when the file is absent or unreadable (a miss, never an error). */
export function readCachedImages(file: string): RawImages | undefined {
  try {
    const bytes = fs.readFileSync(file);
    if (bytes.subarray(0, 8).toString('latin1') !== MAGIC) return undefined;
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as { count: number; height: number; width: number; channels: number; classNames: string[]; labelled: boolean };
    let offset = align4(12 + headerLength);
    const pixelsLength = header.count * header.height * header.width * header.channels;
    const labelsLength = header.labelled ? header.count * 4 : 0;
    if (bytes.length !== offset + labelsLength + pixelsLength) return undefined;
    // Copy into fresh buffers so that each owns its memory (and the labels are 4-byte aligned).
    const labels = header.labelled ? new Int32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + labelsLength)) : undefined;
    offset += labelsLength;
    const pixels = new Uint8Array(pixelsLength);
    pixels.set(bytes.subarray(offset, offset + pixelsLength));
    const { count, height, width, channels, classNames } = header;
    return { pixels, count, height, width, channels, classNames, ...(labels ? { labels } : {}) };
  } catch {
    return undefined;
  }
}

/** Writes uint8 images to the cache (atomically); failures are ignored, the cache being an optimisation. */
export function writeCachedImages(file: string, images: RawImages): boolean {
  if (!(images.pixels instanceof Uint8Array)) return false;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { count, height, width, channels, classNames } = images;
    const header = Buffer.from(JSON.stringify({ count, height, width, channels, classNames, labelled: images.labels !== undefined }), 'utf8');
    const prefix = Buffer.alloc(align4(12 + header.length));
    prefix.write(MAGIC, 0, 'latin1');
    prefix.writeUInt32LE(header.length, 8);
    header.copy(prefix, 12);
    const labels = images.labels ? new Uint8Array(images.labels.buffer, images.labels.byteOffset, images.labels.byteLength) : new Uint8Array(0);
    writeFileAtomic(file, [prefix, labels, images.pixels]);
    return true;
  } catch {
    return false;
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
