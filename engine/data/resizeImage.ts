// Geometric preprocessing of one HWC image: bilinear resize (half-pixel centres, no antialiasing, as
// torchvision's Resize on tensors) followed by a centre crop, computed in one pass.
import { HalocError } from '../errors';

/** Target of the geometric step: resize so the shorter side is `resize` (or so the image covers the crop), then centre-crop. */
export interface FitSettings {
  /** Output height and width (the centre crop). */
  readonly height: number;
  readonly width: number;
  /** Shorter side after resizing, before the crop; default: the smallest size that covers the crop. */
  readonly resize?: number;
}

/** Size of the image after the resize step. */
export function resizedSize(height: number, width: number, fit: FitSettings): { height: number; width: number } {
  if (fit.resize === undefined) {
    if (height === fit.height && width === fit.width) return { height, width };
    const scale = Math.max(fit.height / height, fit.width / width);
    return { height: Math.max(fit.height, Math.round(height * scale)), width: Math.max(fit.width, Math.round(width * scale)) };
  }
  return height <= width
    ? { height: fit.resize, width: Math.max(1, Math.round((width * fit.resize) / height)) }
    : { height: Math.max(1, Math.round((height * fit.resize) / width)), width: fit.resize };
}

/** Resizes and centre-crops an HWC image (`channels` per pixel) into `out` at `outOffset` ([fit.height, fit.width, channels]). */
export function fitImage<T extends Uint8Array | Float32Array>(src: T, height: number, width: number, channels: number, fit: FitSettings, out: T, outOffset: number): void {
  const resized = resizedSize(height, width, fit);
  if (resized.height < fit.height || resized.width < fit.width) {
    throw new HalocError('BAD_ARGUMENT', `resize to ${fit.resize ?? '?'} is smaller than the crop ${fit.height}x${fit.width}; choose a larger resize or a smaller size`);
  }
  const top = Math.floor((resized.height - fit.height) / 2);
  const left = Math.floor((resized.width - fit.width) / 2);
  const rows = sampling(height, resized.height, top, fit.height);
  const cols = sampling(width, resized.width, left, fit.width);
  const round = src instanceof Uint8Array;
  for (let y = 0; y < fit.height; y++) {
    const y0 = rows.low[y] ?? 0, y1 = rows.high[y] ?? 0, fy = rows.weight[y] ?? 0;
    for (let x = 0; x < fit.width; x++) {
      const x0 = cols.low[x] ?? 0, x1 = cols.high[x] ?? 0, fx = cols.weight[x] ?? 0;
      const o = outOffset + (y * fit.width + x) * channels;
      for (let c = 0; c < channels; c++) {
        const a = src[(y0 * width + x0) * channels + c] ?? 0;
        const b = src[(y0 * width + x1) * channels + c] ?? 0;
        const d = src[(y1 * width + x0) * channels + c] ?? 0;
        const e = src[(y1 * width + x1) * channels + c] ?? 0;
        const value = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
        out[o + c] = round ? Math.round(value) : value;
      }
    }
  }
}

/** Source indices and weights along one axis for output positions offset..offset+count of a resize from `from` to `to`. */
function sampling(from: number, to: number, offset: number, count: number): { low: Int32Array; high: Int32Array; weight: Float64Array } {
  const low = new Int32Array(count);
  const high = new Int32Array(count);
  const weight = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const source = from === to ? offset + i : Math.min(from - 1, Math.max(0, ((offset + i + 0.5) * from) / to - 0.5));
    const l = Math.floor(source);
    low[i] = l;
    high[i] = Math.min(from - 1, l + 1);
    weight[i] = source - l;
  }
  return { low, high, weight };
}
