// Seeded training augmentation on a batch tensor: random crop with zero padding and horizontal flip.
import type { Layout } from './imageSet';

/** Augmentation settings. */
export interface AugmentSettings {
  /** Pixels of padding on each side before a random crop back to the original size; 0 disables the crop. */
  readonly padding: number;
  /** Flip horizontally with probability 1/2. */
  readonly flip: boolean;
  /** Per-channel fill of the padding, in preprocessed units (e.g. the value of a black pixel); default 0. */
  readonly fill?: readonly number[];
}

/** Shape of one batch tensor. */
export interface BatchShape {
  readonly count: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly layout: Layout;
}

/** A new batch with each image randomly shifted (within the padding) and maybe flipped; deterministic for a generator state. */
export function augmentBatch(images: Float32Array, shape: BatchShape, settings: AugmentSettings, random: () => number): Float32Array {
  const { count, channels: C, height: H, width: W } = shape;
  const out = new Float32Array(images.length);
  const pad = Math.max(0, Math.floor(settings.padding));
  const nchw = shape.layout === 'NCHW';
  const index = (c: number, y: number, x: number): number => (nchw ? (c * H + y) * W + x : (y * W + x) * C + c);
  for (let n = 0; n < count; n++) {
    const dy = Math.floor(random() * (2 * pad + 1)) - pad;
    const dx = Math.floor(random() * (2 * pad + 1)) - pad;
    const flip = settings.flip && random() < 0.5;
    const base = n * C * H * W;
    for (let c = 0; c < C; c++) {
      const fill = settings.fill?.[settings.fill.length === 1 ? 0 : c] ?? 0;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        for (let x = 0; x < W; x++) {
          const sx = (flip ? W - 1 - x : x) + dx;
          out[base + index(c, y, x)] = sy < 0 || sy >= H || sx < 0 || sx >= W ? fill : (images[base + index(c, sy, sx)] ?? 0);
        }
      }
    }
  }
  return out;
}

/** The preprocessed value of a black pixel per channel ((0 - mean) / std), the usual padding fill. */
export function blackFill(mean: readonly number[], std: readonly number[]): number[] {
  return mean.map((m, c) => -m / (std[c] ?? 1));
}
