// The data options several commands share: --data, --limit and the preprocessing flags, and loading
// the dataset they describe.
import type { ParseArgsConfig } from 'node:util';
import { loadDataset, type LoadedDataset } from '../data/loadDataset';
import type { Preprocessing } from '../data/preprocessing';
import { preprocessingFromFlags } from '../data/preprocessingArgs';
import { UsageError, type CliInvocation } from './cliArgs';

/** parseArgs options for the preprocessing flags. */
export const preprocessingOptions: NonNullable<ParseArgsConfig['options']> = {
  size: { type: 'string' },
  resize: { type: 'string' },
  scale: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  layout: { type: 'string' },
  'channel-order': { type: 'string' },
  limit: { type: 'string' },
};

/** Usage text of the preprocessing flags. */
export const preprocessingUsage = '[--size H,W] [--resize N] [--scale 1/255] [--mean m,m,m] [--std s,s,s] [--layout NCHW|NHWC] [--channel-order RGB|BGR] [--limit N]';

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** A positive integer option, or undefined when absent. */
export function positiveInteger(values: CliInvocation['values'], name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, not '${String(value)}'`);
  return n;
}

/** A finite number option within [min, max], or the fallback when absent. */
export function numberOption(values: CliInvocation['values'], name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const value = values[name];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], not '${String(value)}'`);
  return n;
}

/** The preprocessing settings the flags of `values` give. */
export function preprocessingOf(values: CliInvocation['values']): Preprocessing {
  return preprocessingFromFlags({
    size: text(values.size), resize: text(values.resize), scale: text(values.scale), mean: text(values.mean), std: text(values.std), layout: text(values.layout), channelOrder: text(values['channel-order']),
  });
}

/** Loads the dataset at `source` with the preprocessing flags of `values`, reporting decoding progress. */
export function loadDataFromFlags(source: string, values: CliInvocation['values'], progress?: (line: string) => void): LoadedDataset {
  const preprocessing = preprocessingOf(values);
  const limit = positiveInteger(values, 'limit');
  let last = 0;
  return loadDataset(source, preprocessing, {
    ...(limit ? { limit } : {}),
    onProgress: (done, total) => {
      const now = Date.now();
      if (progress && (done === total || now - last > 2000)) {
        last = now;
        progress(`decoding ${source}: ${done}/${total} images`);
      }
    },
  });
}
