// Batches of a dataset for an epoch: seeded shuffling per epoch, optional seeded augmentation.
import { neverCancelled, type CancelSignal } from '../cancellation';
import { HalocError } from '../errors';
import { seededUniform } from '../random';
import { augmentBatch, type AugmentSettings } from './augment';
import type { ImageDataset } from './imageSet';
import { shuffleInPlace } from './splits';

/** One batch: images in the dataset's layout and their labels. */
export interface Batch {
  /** [size, C, H, W] or [size, H, W, C]. */
  readonly images: Float32Array;
  readonly labels?: Int32Array;
  /** Dataset indices of the images. */
  readonly indices: Int32Array;
  readonly size: number;
}

/** How to batch an epoch. */
export interface BatchOptions {
  readonly batchSize: number;
  /** Images to use (e.g. a split); default all. */
  readonly indices?: Int32Array;
  /** Shuffle with this seed (mixed with the epoch); absent keeps the given order. */
  readonly seed?: number;
  readonly epoch?: number;
  /** Drop a last batch smaller than batchSize. */
  readonly dropLast?: boolean;
  readonly augment?: AugmentSettings;
  readonly cancel?: CancelSignal;
}

/** The batches of one epoch; the same options give the same batches. */
export function* batches(dataset: ImageDataset, options: BatchOptions): Generator<Batch> {
  if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1) throw new HalocError('BAD_ARGUMENT', `batch size must be a positive integer, not ${options.batchSize}`);
  const cancel = options.cancel ?? neverCancelled;
  const order = Int32Array.from(options.indices ?? Array.from({ length: dataset.count }, (_, i) => i));
  const epochSeed = ((options.seed ?? 0) * 0x9e3779b1 + (options.epoch ?? 0) * 0x85ebca6b) >>> 0;
  if (options.seed !== undefined) shuffleInPlace(order, seededUniform(epochSeed));
  const augmentRandom = seededUniform(epochSeed ^ 0x5bd1e995);
  const size = dataset.channels * dataset.height * dataset.width;
  for (let start = 0; start < order.length; start += options.batchSize) {
    cancel.throwIfCancelled();
    const indices = order.subarray(start, Math.min(order.length, start + options.batchSize));
    if (options.dropLast && indices.length < options.batchSize) break;
    let images: Float32Array = new Float32Array(indices.length * size);
    const labels = dataset.labels ? new Int32Array(indices.length) : undefined;
    indices.forEach((index, i) => {
      images.set(dataset.images.subarray(index * size, (index + 1) * size), i * size);
      if (labels) labels[i] = dataset.labels?.[index] ?? 0;
    });
    if (options.augment) images = augmentBatch(images, { ...dataset, count: indices.length }, options.augment, augmentRandom);
    yield { images, indices: Int32Array.from(indices), size: indices.length, ...(labels ? { labels } : {}) };
  }
}
