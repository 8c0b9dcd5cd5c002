// Refuses up front a search or compression whose model would need more memory than a limit allows, with
// the figures, instead of failing after the machine ran out of memory. A job's peak is about
// `peakPerModelByte` times the model's bytes (the file and its external data) on top of `runtimeMb`
// (the runtime and the search's fixed activation budgets): bench/memoryBench.mjs measured a data-free
// fast search plus a compression peaking at 2.7 GB on the ResNet-50-shaped model (97 MB) and at 4.9 GB
// on the VGG-16-shaped one (528 MB); the line through both, rounded up, is 2,200 MB + 6 bytes per byte.
// Since then VGG-16's peak came down to 3.8 GB (weights fed to onnxruntime, see fedSession): the line
// now overestimates large models, which errs on the side of refusing.
import * as os from 'node:os';
import { HalocError } from '../errors';
import { externalDataFiles } from '../onnx/externalData';
import { filesBytes } from './fileBytes';
import type { OnnxModel } from '../onnx/onnxModel';

/** Peak resident memory of a search (and of the compression after it) per byte of model, measured. */
export const peakPerModelByte = 6;

/** Node, onnxruntime, the engine and the search's activation budgets, before any model (MB). */
export const runtimeMb = 2200;

/** Where a user sets the limit (named in the refusal). */
export const memoryLimitSetting = 'setting haloc.limits.memoryMB, or --memory-limit-mb';

/** The default limit: three quarters of this machine's memory (MB). */
export function defaultMemoryLimitMb(): number {
  return Math.floor((0.75 * os.totalmem()) / 2 ** 20);
}

/** The model's bytes on disk: its file and every external data file it names. */
export function modelBytesOnDisk(model: OnnxModel): number {
  return filesBytes([model.filePath, ...externalDataFiles(model.graph, model.dir)]);
}

/** Throws TOO_LARGE when a job on a model of `modelBytes` would need more than `limitMb` (0: no limit). */
export function checkMemoryLimit(modelBytes: number, limitMb: number, what: string, setting = memoryLimitSetting): void {
  if (!(limitMb > 0)) return;
  const needMb = runtimeMb + (peakPerModelByte * modelBytes) / 2 ** 20;
  if (needMb <= limitMb) return;
  throw new HalocError('TOO_LARGE', `${what}: the model has ${(modelBytes / 2 ** 20).toFixed(0)} MB of weights and a search on it needs an estimated ${(needMb / 1024).toFixed(1)} GB of memory (${peakPerModelByte} bytes per byte of weights plus ${runtimeMb} MB, measured on a ResNet-50 and a VGG-16), over the limit of ${(limitMb / 1024).toFixed(1)} GB (${setting}); nothing was started`);
}
