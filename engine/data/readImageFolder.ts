// Reads an ImageFolder (a folder or a .tar of one) into one uint8 tensor: each file read and decoded
// once, resized/cropped to a common size, with progress, cancellation and an on-disk cache.
import { neverCancelled, type CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import { dataCacheFile, defaultDataCacheDir, readCachedImages, writeCachedImages } from './dataCache';
import { decodeImage } from './decodeImage';
import { classifyImagePaths, limitPerClass } from './imageFolderLayout';
import type { RawImages } from './imageSet';
import { openImageSource } from './imageSource';
import { fitImage } from './resizeImage';

/** Options of reading an image folder. */
export interface ReadImagesOptions {
  /** Output [height, width] (centre crop); default: the size of the first image (all must agree). */
  readonly size?: readonly [number, number];
  /** Shorter side after resizing, before the crop. */
  readonly resize?: number;
  /** Read at most this many images, round-robin over the classes. */
  readonly limit?: number;
  /** Cache folder; null disables the cache. Default `$HALOC_CACHE_DIR/data` or ~/.cache/haloc/data. */
  readonly cacheDir?: string | null;
  /** Called with the number of images decoded so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly cancel?: CancelSignal;
}

/** Decoded images and how they were obtained. */
export interface ReadImagesResult {
  readonly images: RawImages;
  /** Images decoded in this call (0 on a cache hit). */
  readonly decoded: number;
  readonly fromCache: boolean;
}

/** Reads and decodes the images of an ImageFolder or a .tar of one. */
export function readImageFolder(sourcePath: string, options: ReadImagesOptions = {}): ReadImagesResult {
  const cancel = options.cancel ?? neverCancelled;
  const source = openImageSource(sourcePath);
  const cacheDir = options.cacheDir === undefined ? defaultDataCacheDir() : options.cacheDir;
  const cacheFile = cacheDir === null ? undefined : dataCacheFile(cacheDir, source.identity, { size: options.size, resize: options.resize, limit: options.limit });
  const cached = cacheFile === undefined ? undefined : readCachedImages(cacheFile);
  if (cached) {
    options.onProgress?.(cached.count, cached.count);
    return { images: cached, decoded: 0, fromCache: true };
  }
  const layout = classifyImagePaths(source.paths, source.name);
  const files = limitPerClass(layout.files, options.limit);
  let size = options.size;
  let pixels: Uint8Array | undefined;
  const labels = new Int32Array(files.length);
  for (let i = 0; i < files.length; i++) {
    cancel.throwIfCancelled();
    const file = files[i];
    if (!file) continue;
    const name = `${source.name}: ${file.path}`;
    const image = decodeImage(source.read(file.path), name);
    if (!size) {
      size = [image.height, image.width];
    } else if (options.size === undefined && (image.height !== size[0] || image.width !== size[1])) {
      throw new HalocError('BAD_ARGUMENT', `${name}: is ${image.height}x${image.width} but earlier images are ${size[0]}x${size[1]}; give --size to resize them all`);
    }
    const [height, width] = size;
    pixels ??= new Uint8Array(files.length * height * width * 3);
    fitImage(image.rgb, image.height, image.width, 3, { height, width, ...(options.resize === undefined ? {} : { resize: options.resize }) }, pixels, i * height * width * 3);
    labels[i] = file.label;
    if (i % 64 === 63 || i === files.length - 1) options.onProgress?.(i + 1, files.length);
  }
  const [height, width] = size ?? [0, 0];
  const images: RawImages = { pixels: pixels ?? new Uint8Array(0), count: files.length, height, width, channels: 3, labels, classNames: layout.classNames };
  if (cacheFile !== undefined) writeCachedImages(cacheFile, images);
  return { images, decoded: files.length, fromCache: false };
}
