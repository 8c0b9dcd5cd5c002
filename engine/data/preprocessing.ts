// Preprocessing as settings: the geometric step (resize + centre crop), then scale, per-channel
// mean/std, channel order and layout, turning decoded images into the model's input tensor.
import { HalocError } from '../errors';
import type { ImageDataset, Layout, RawImages } from './imageSet';

/** Order of the colour channels in the model input. */
export type ChannelOrder = 'RGB' | 'BGR';

/** How images become model inputs: value = (pixel * scale - mean[c]) / std[c]. */
export interface Preprocessing {
  /** Output [height, width] (centre crop); default: the source's own size (all images must agree). */
  readonly size?: readonly [number, number];
  /** Shorter side after resizing, before the centre crop; default: the smallest that covers `size`. */
  readonly resize?: number;
  /** Multiplier applied first; default 1/255 for 8-bit images, 1 for float tensors. */
  readonly scale?: number;
  /** Per-channel mean (one value applies to every channel); default 0. */
  readonly mean?: readonly number[];
  /** Per-channel standard deviation (one value applies to every channel); default 1. */
  readonly std?: readonly number[];
  /** Default NCHW. */
  readonly layout?: Layout;
  /** Default RGB. */
  readonly channelOrder?: ChannelOrder;
}

/** The preprocessing of the shared CIFAR-10 ResNets (../shared/models/README.md). */
export const cifarResnetPreprocessing: Preprocessing = {
  size: [32, 32],
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'NCHW',
  channelOrder: 'RGB',
};

/** Applies scale, mean/std, channel order and layout to decoded images (already at their final size). */
export function normalizeImages(raw: RawImages, settings: Preprocessing): ImageDataset {
  const { count, height, width, channels } = raw;
  const scale = settings.scale ?? (raw.pixels instanceof Uint8Array ? 1 / 255 : 1);
  const mean = perChannel(settings.mean, channels, 0, 'mean');
  const std = perChannel(settings.std, channels, 1, 'std');
  if (std.some((s) => s === 0)) throw new HalocError('BAD_ARGUMENT', '--std must not contain 0');
  const layout = settings.layout ?? 'NCHW';
  const bgr = (settings.channelOrder ?? 'RGB') === 'BGR' && channels === 3;
  const images = new Float32Array(count * height * width * channels);
  const plane = height * width;
  const pixels = raw.pixels;
  for (let c = 0; c < channels; c++) {
    const source = bgr ? 2 - c : c;
    const multiplier = scale / (std[c] ?? 1);
    const offset = (mean[c] ?? 0) / (std[c] ?? 1);
    // Output element stride and start per channel: planes for NCHW, interleaved for NHWC.
    const stride = layout === 'NCHW' ? 1 : channels;
    const start = layout === 'NCHW' ? c * plane : c;
    for (let n = 0; n < count; n++) {
      const base = n * plane * channels;
      let o = base + start;
      for (let i = base + source, end = base + plane * channels; i < end; i += channels, o += stride) images[o] = (pixels[i] as number) * multiplier - offset;
    }
  }
  return { images, layout, count, channels, height, width, classNames: raw.classNames, ...(raw.labels ? { labels: raw.labels } : {}) };
}

/** Expands a per-channel setting (one value, or one per channel) to `channels` values. */
function perChannel(values: readonly number[] | undefined, channels: number, fallback: number, name: string): number[] {
  if (values === undefined || values.length === 0) return new Array<number>(channels).fill(fallback);
  if (values.length === 1) return new Array<number>(channels).fill(values[0] ?? fallback);
  if (values.length !== channels) throw new HalocError('BAD_ARGUMENT', `--${name} has ${values.length} values but the images have ${channels} channels; give 1 or ${channels} values`);
  return [...values];
}
