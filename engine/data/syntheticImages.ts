// Seeded synthetic images: one random prototype per class plus noise, so that a small model can learn them.
import { seededUniform } from '../random';
import type { RawImages } from './imageSet';

/** Shape and seed of a synthetic dataset. */
export interface SyntheticSpec {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: number;
  readonly seed: number;
  /** Noise amplitude in pixel units (0..255); default 32. */
  readonly noise?: number;
}

/** uint8 NHWC images with labels cycling over the classes; the same spec gives the same bytes. */
export function syntheticImages(spec: SyntheticSpec): RawImages {
  const random = seededUniform(spec.seed);
  const size = spec.height * spec.width * spec.channels;
  const prototypes = Array.from({ length: spec.classes }, () => Float32Array.from({ length: size }, () => 48 + random() * 160));
  const pixels = new Uint8Array(spec.count * size);
  const labels = new Int32Array(spec.count);
  const noise = spec.noise ?? 32;
  for (let n = 0; n < spec.count; n++) {
    const label = n % spec.classes;
    labels[n] = label;
    const prototype = prototypes[label];
    for (let i = 0; i < size; i++) pixels[n * size + i] = Math.min(255, Math.max(0, Math.round((prototype?.[i] ?? 0) + (random() * 2 - 1) * noise)));
  }
  const classNames = Array.from({ length: spec.classes }, (_, i) => `class${i}`);
  return { pixels, count: spec.count, height: spec.height, width: spec.width, channels: spec.channels, labels, classNames };
}
