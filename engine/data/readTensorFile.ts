// Reads images (float32 or uint8, [N,H,W], [N,H,W,C] or [N,C,H,W]) and integer labels from .npy/.npz files.
import * as fs from 'node:fs';
import { errorMessage, HalocError } from '../errors';
import type { Layout, RawImages } from './imageSet';
import { parseNpy, parseNpz, type NpyArray } from './npyFile';

/** Options of reading a tensor file. */
export interface ReadTensorOptions {
  /** Array name of the images in an .npz; default the first of x, images, data, x_test, x_train, X. */
  readonly imagesKey?: string;
  /** Array name of the labels in an .npz; default the first of y, labels, targets, y_test, y_train, Y. */
  readonly labelsKey?: string;
  /** A separate .npy of labels (for an .npy of images). */
  readonly labelsPath?: string;
  /** Layout of a 4-D images array; default NHWC when the last axis is 1, 3 or 4, else NCHW. */
  readonly tensorLayout?: Layout;
}

const IMAGE_KEYS = ['x', 'images', 'data', 'x_test', 'x_train', 'X'];
const LABEL_KEYS = ['y', 'labels', 'targets', 'y_test', 'y_train', 'Y'];

/** Reads images and labels from an .npy or .npz file into NHWC raw images. */
export function readTensorFile(filePath: string, options: ReadTensorOptions = {}): RawImages {
  const bytes = readBytes(filePath);
  let images: NpyArray | undefined;
  let labels: NpyArray | undefined;
  if (/\.npz$/i.test(filePath)) {
    const arrays = parseNpz(bytes, filePath);
    const pick = (key: string | undefined, defaults: string[]): NpyArray | undefined => (key !== undefined ? arrays.get(key) : defaults.map((k) => arrays.get(k)).find((a) => a !== undefined));
    images = pick(options.imagesKey, IMAGE_KEYS);
    labels = pick(options.labelsKey, LABEL_KEYS);
    if (!images) throw new HalocError('NOT_FOUND', `${filePath}: no images array (found ${[...arrays.keys()].join(', ') || 'none'}); name it x or images, or pass its name`);
  } else {
    images = parseNpy(bytes, filePath);
  }
  if (options.labelsPath !== undefined) labels = parseNpy(readBytes(options.labelsPath), options.labelsPath);
  return toRawImages(images, labels, filePath, options.tensorLayout);
}

function toRawImages(images: NpyArray, labels: NpyArray | undefined, name: string, forced: Layout | undefined): RawImages {
  const shape = images.shape;
  if ((shape.length !== 3 && shape.length !== 4) || images.data instanceof Int32Array) {
    throw new HalocError('UNSUPPORTED', `${name}: images must be float32 or uint8 of shape [N,H,W], [N,H,W,C] or [N,C,H,W], not ${images.dtype} [${shape.join(', ')}]`);
  }
  const [count = 0, a = 0, b = 0, c = 1] = shape;
  const channelsFirst = shape.length === 4 && (forced ?? (c === 1 || c === 3 || c === 4 ? 'NHWC' : 'NCHW')) === 'NCHW';
  const [channels, height, width] = shape.length === 3 ? [1, a, b] : channelsFirst ? [a, b, c] : [c, a, b];
  const pixels = channelsFirst ? toChannelsLast(images.data, count, channels, height * width) : images.data;
  let labelValues: Int32Array | undefined;
  if (labels) {
    if (labels.shape.length !== 1 || labels.shape[0] !== count || labels.data instanceof Float32Array) {
      throw new HalocError('BAD_ARGUMENT', `${name}: labels must be ${count} integers (one per image), not ${labels.dtype} [${labels.shape.join(', ')}]`);
    }
    labelValues = Int32Array.from(labels.data);
    if (labelValues.some((l) => l < 0)) throw new HalocError('BAD_ARGUMENT', `${name}: labels must be class indices >= 0`);
  }
  const classCount = labelValues ? Math.max(-1, ...labelValues) + 1 : 0;
  const classNames = Array.from({ length: classCount }, (_, i) => String(i));
  return { pixels, count, height, width, channels, classNames, ...(labelValues ? { labels: labelValues } : {}) };
}

function toChannelsLast<T extends Float32Array | Uint8Array>(data: T, count: number, channels: number, plane: number): T {
  const out = new (data.constructor as new (length: number) => T)(data.length);
  for (let n = 0; n < count; n++) {
    const base = n * channels * plane;
    for (let ch = 0; ch < channels; ch++) for (let p = 0; p < plane; p++) out[base + p * channels + ch] = data[base + ch * plane + p] ?? 0;
  }
  return out;
}

function readBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new HalocError('NOT_FOUND', `${file}: cannot be read (${errorMessage(error)}); check the path`);
  }
}
