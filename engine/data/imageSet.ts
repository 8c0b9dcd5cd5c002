// The in-memory forms of a dataset: decoded images before normalisation, and the model-ready tensor.

/** Element layout of a batch of images: channels first or channels last. */
export type Layout = 'NCHW' | 'NHWC';

/** Decoded images as one tensor, NHWC in RGB order (uint8 from image files, float32 from tensor files). */
export interface RawImages {
  /** Pixels [count, height, width, channels], RGB order. */
  readonly pixels: Uint8Array | Float32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Class index per image, when the source has labels. */
  readonly labels?: Int32Array;
  /** Class names by index (empty when the source names no classes). */
  readonly classNames: readonly string[];
}

/** A preprocessed dataset: one float32 tensor in the model's layout and channel order, plus labels. */
export interface ImageDataset {
  /** [count, C, H, W] for NCHW or [count, H, W, C] for NHWC. */
  readonly images: Float32Array;
  readonly layout: Layout;
  readonly count: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Class index per image, when the source has labels. */
  readonly labels?: Int32Array;
  /** Class names by index (empty when the source names no classes). */
  readonly classNames: readonly string[];
}

/** The shape of the images tensor of a dataset (with `count` images). */
export function imagesShape(dataset: Pick<ImageDataset, 'layout' | 'channels' | 'height' | 'width'>, count: number): [number, number, number, number] {
  const { channels: c, height: h, width: w } = dataset;
  return dataset.layout === 'NCHW' ? [count, c, h, w] : [count, h, w, c];
}

/** The images at `indices` as a new dataset (same layout, labels and class names). */
export function subsetDataset(dataset: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const size = dataset.channels * dataset.height * dataset.width;
  const images = new Float32Array(indices.length * size);
  const labels = dataset.labels ? new Int32Array(indices.length) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] ?? 0;
    images.set(dataset.images.subarray(index * size, (index + 1) * size), i * size);
    if (labels && dataset.labels) labels[i] = dataset.labels[index] ?? 0;
  }
  return { ...dataset, images, count: indices.length, ...(labels ? { labels } : {}) };
}
