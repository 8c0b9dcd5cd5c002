// Refuses up front a search or compression whose model would need more memory than a limit allows, with
// the figures, instead of failing after the machine ran out of memory. A job's peak is about
// `peakPerModelByte` times the model's bytes (the file and its external data) on top of the runtime's own
// `runtimeMb`: bench/memoryBench.mjs measured a data-free fast search of the ResNet-50-shaped model
// (102 MB) peaking at 4.6 GB (factors of every layer 0.8 GB, the layer-error pass 1.9 GB).
import * as os from 'node:os';
import { HalocError } from '../errors';
import { externalDataFiles } from '../onnx/externalData';
import { filesBytes } from './fileBytes';
import type { OnnxModel } from '../onnx/onnxModel';

/** Peak resident memory of a search (and of the compression after it) per byte of model, measured. */
export const peakPerModelByte = 45;

/** Node, onnxruntime and the engine's code and buffers before any model (MB). */
export const runtimeMb = 400;

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
  throw new HalocError('TOO_LARGE', `${what}: the model has ${(modelBytes / 2 ** 20).toFixed(0)} MB of weights and a search on it needs an estimated ${(needMb / 1024).toFixed(1)} GB of memory (${peakPerModelByte} bytes per byte of weights plus ${runtimeMb} MB, measured on a ResNet-50), over the limit of ${(limitMb / 1024).toFixed(1)} GB (${setting}); nothing was started`);
}
