// Loads a dataset from any supported source (ImageFolder folder or .tar, .npy/.npz, synthetic) and
// applies the preprocessing settings, giving one model-ready float32 tensor.
import { HalocError } from '../errors';
import type { ImageDataset, RawImages } from './imageSet';
import { normalizeImages, type Preprocessing } from './preprocessing';
import { readImageFolder, type ReadImagesOptions } from './readImageFolder';
import { readTensorFile, type ReadTensorOptions } from './readTensorFile';
import { fitImage } from './resizeImage';
import { syntheticImages, type SyntheticSpec } from './syntheticImages';

/** A dataset source: a path (folder, .tar, .npy, .npz) or a synthetic spec. */
export type DataSource = string | { readonly synthetic: SyntheticSpec };

/** Options of loading: the reading options of image folders and tensor files. */
export type LoadOptions = Omit<ReadImagesOptions, 'size' | 'resize'> & ReadTensorOptions;

/** A loaded dataset and how it was obtained. */
export interface LoadedDataset {
  readonly dataset: ImageDataset;
  /** Images decoded in this call (0 on a cache hit and for tensor or synthetic sources). */
  readonly decoded: number;
  readonly fromCache: boolean;
}

/** Loads and preprocesses a dataset. */
export function loadDataset(source: DataSource, preprocessing: Preprocessing = {}, options: LoadOptions = {}): LoadedDataset {
  if (typeof source !== 'string') return { dataset: normalizeImages(fitAll(syntheticImages(source.synthetic), preprocessing), preprocessing), decoded: 0, fromCache: false };
  if (/\.np[yz]$/i.test(source)) {
    let raw = readTensorFile(source, options);
    if (options.limit !== undefined && options.limit < raw.count) raw = firstImages(raw, options.limit);
    return { dataset: normalizeImages(fitAll(raw, preprocessing), preprocessing), decoded: 0, fromCache: false };
  }
  const read = readImageFolder(source, { ...options, ...(preprocessing.size ? { size: preprocessing.size } : {}), ...(preprocessing.resize === undefined ? {} : { resize: preprocessing.resize }) });
  return { dataset: normalizeImages(read.images, preprocessing), decoded: read.decoded, fromCache: read.fromCache };
}

/** Resizes and centre-crops every image to the preprocessing size (unchanged when none is set or it matches). */
export function fitAll(raw: RawImages, preprocessing: Preprocessing): RawImages {
  const size = preprocessing.size;
  if (!size || (size[0] === raw.height && size[1] === raw.width && preprocessing.resize === undefined)) return raw;
  const [height, width] = size;
  if (height < 1 || width < 1) throw new HalocError('BAD_ARGUMENT', `--size must be positive, not ${height}x${width}`);
  const inSize = raw.height * raw.width * raw.channels;
  const outSize = height * width * raw.channels;
  const pixels = raw.pixels instanceof Uint8Array ? new Uint8Array(raw.count * outSize) : new Float32Array(raw.count * outSize);
  const fit = { height, width, ...(preprocessing.resize === undefined ? {} : { resize: preprocessing.resize }) };
  for (let n = 0; n < raw.count; n++) {
    const image = raw.pixels.subarray(n * inSize, (n + 1) * inSize);
    if (image instanceof Uint8Array && pixels instanceof Uint8Array) fitImage(image, raw.height, raw.width, raw.channels, fit, pixels, n * outSize);
    else if (image instanceof Float32Array && pixels instanceof Float32Array) fitImage(image, raw.height, raw.width, raw.channels, fit, pixels, n * outSize);
  }
  return { ...raw, pixels, height, width };
}

function firstImages(raw: RawImages, count: number): RawImages {
  const size = raw.height * raw.width * raw.channels;
  return { ...raw, count, pixels: raw.pixels.slice(0, count * size), ...(raw.labels ? { labels: raw.labels.slice(0, count) } : {}) };
}
