// Parsers for the preprocessing flags shared by the CLI commands: --size, --resize, --scale, --mean,
// --std, --layout, --channel-order.
import { HalocError } from '../errors';
import type { Layout } from './imageSet';
import type { ChannelOrder, Preprocessing } from './preprocessing';

/** The raw flag values as the CLI received them (strings, or undefined when absent). */
export interface PreprocessingFlags {
  readonly size?: string | undefined;
  readonly resize?: string | undefined;
  readonly scale?: string | undefined;
  readonly mean?: string | undefined;
  readonly std?: string | undefined;
  readonly layout?: string | undefined;
  readonly channelOrder?: string | undefined;
}

/** `--size 32`, `--size 224,224` or `--size 224x224` into [height, width]. */
export function parseSize(value: string, flag = '--size'): [number, number] {
  const parts = value.trim().split(/[,x]/i).map((p) => Number(p.trim()));
  const [height, width] = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (parts.length > 2 || !isPositiveInteger(height) || !isPositiveInteger(width)) {
    throw new HalocError('BAD_ARGUMENT', `${flag} must be a positive integer or HEIGHT,WIDTH (e.g. 32 or 224,224), not '${value}'`);
  }
  return [height, width];
}

/** `--scale 0.00392` or `--scale 1/255` into a positive number. */
export function parseScale(value: string, flag = '--scale'): number {
  const match = /^\s*([^/]+?)\s*(?:\/\s*(.+?)\s*)?$/.exec(value);
  const scale = match?.[1] === undefined ? NaN : Number(match[1]) / (match[2] === undefined ? 1 : Number(match[2]));
  if (!Number.isFinite(scale) || scale <= 0) throw new HalocError('BAD_ARGUMENT', `${flag} must be a positive number or a fraction such as 1/255, not '${value}'`);
  return scale;
}

/** `--mean 0.485,0.456,0.406` into numbers (one value, or one per channel). */
export function parseNumberList(value: string, flag: string): number[] {
  const numbers = value.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (numbers.length === 0 || numbers.some((n) => !Number.isFinite(n))) {
    throw new HalocError('BAD_ARGUMENT', `${flag} must be comma-separated numbers such as 0.485,0.456,0.406, not '${value}'`);
  }
  return numbers;
}

/** `--layout NCHW|NHWC` (any case). */
export function parseLayout(value: string): Layout {
  const layout = value.trim().toUpperCase();
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new HalocError('BAD_ARGUMENT', `--layout must be NCHW or NHWC, not '${value}'`);
  return layout;
}

/** `--channel-order RGB|BGR` (any case). */
export function parseChannelOrder(value: string): ChannelOrder {
  const order = value.trim().toUpperCase();
  if (order !== 'RGB' && order !== 'BGR') throw new HalocError('BAD_ARGUMENT', `--channel-order must be RGB or BGR, not '${value}'`);
  return order;
}

/** Preprocessing settings from CLI flags; absent flags keep the defaults of `base`. */
export function preprocessingFromFlags(flags: PreprocessingFlags, base: Preprocessing = {}): Preprocessing {
  let settings: Preprocessing = { ...base };
  if (flags.size !== undefined) settings = { ...settings, size: parseSize(flags.size) };
  if (flags.resize !== undefined) {
    const resize = Number(flags.resize);
    if (!isPositiveInteger(resize)) throw new HalocError('BAD_ARGUMENT', `--resize must be a positive integer (the shorter side before the crop), not '${flags.resize}'`);
    settings = { ...settings, resize };
  }
  if (flags.scale !== undefined) settings = { ...settings, scale: parseScale(flags.scale) };
  if (flags.mean !== undefined) settings = { ...settings, mean: parseNumberList(flags.mean, '--mean') };
  if (flags.std !== undefined) settings = { ...settings, std: parseNumberList(flags.std, '--std') };
  if (flags.layout !== undefined) settings = { ...settings, layout: parseLayout(flags.layout) };
  if (flags.channelOrder !== undefined) settings = { ...settings, channelOrder: parseChannelOrder(flags.channelOrder) };
  return settings;
}

function isPositiveInteger(value: number | undefined): value is number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0;
}
