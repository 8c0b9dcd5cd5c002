// The images a search runs on, shared by `haloc search` and the editor's search job: the fast mode's
// calibration / held-out test split, the HALOC mode's training / test split, and the data-free
// preview's synthetic unlabelled images of the model's input shape (accuracy then only estimated).
import * as path from 'node:path';
import type { ImageDataset, Layout } from '../data/imageSet';
import { loadDataset } from '../data/loadDataset';
import type { Preprocessing } from '../data/preprocessing';
import { splitIndices } from '../data/splits';
import { HalocError } from '../errors';
import type { ModelAnalysis } from '../graph/analyzeModel';
import type { NamedSet } from './fastSearch';

/** A loaded dataset and where it came from (a path, or words). */
export interface SourcedDataset {
  readonly dataset: ImageDataset;
  readonly source: string;
}

/** Calibration and test images of a fast search. */
export interface CalibrationSplit {
  readonly calibration: NamedSet;
  readonly test: NamedSet & { readonly heldOut: boolean };
}

/** Calibration and test images: a seeded stratified split of `data`, or (with `evalData`) `calibrationImages` of `data` and all of `evalData`; `remedy` says how to give more data in the caller's words. */
export function calibrationAndTest(data: SourcedDataset, evalData: SourcedDataset | undefined, calibrationImages: number, seed: number, remedy = 'use fewer calibration images, or give separate evaluation data'): CalibrationSplit {
  const { dataset, source } = data;
  if (evalData) {
    const count = Math.min(calibrationImages, dataset.count);
    const split = splitIndices(dataset.count, dataset.labels, { calibration: count / dataset.count }, seed);
    const heldOut = path.resolve(evalData.source) !== path.resolve(source);
    return { calibration: { dataset, indices: split.calibration, source }, test: { dataset: evalData.dataset, indices: allIndices(evalData.dataset.count), source: evalData.source, heldOut } };
  }
  if (dataset.count <= calibrationImages) throw new HalocError('BAD_ARGUMENT', `${source} has ${dataset.count} images: more than ${calibrationImages} calibration images are needed to keep a held-out test split (${remedy})`);
  const fraction = calibrationImages / dataset.count;
  const split = splitIndices(dataset.count, dataset.labels, { calibration: fraction, test: 1 - fraction }, seed);
  return {
    calibration: { dataset, indices: split.calibration, source: `${split.calibration.length} images of ${source} (seeded stratified split, seed ${seed})` },
    test: { dataset, indices: split.test, source: `the other ${split.test.length} images of ${source}`, heldOut: true },
  };
}

/** Training and test images of a HALOC run: all of `data` and all of `evalData`, or a seeded stratified 90/10 split of `data`. */
export function trainAndTest(data: SourcedDataset, evalData: SourcedDataset | undefined, seed: number): { train: NamedSet; test: NamedSet & { heldOut: boolean } } {
  const { dataset, source } = data;
  if (evalData) {
    return { train: { dataset, indices: allIndices(dataset.count), source }, test: { dataset: evalData.dataset, indices: allIndices(evalData.dataset.count), source: evalData.source, heldOut: path.resolve(evalData.source) !== path.resolve(source) } };
  }
  const split = splitIndices(dataset.count, dataset.labels, { train: 0.9, test: 0.1 }, seed);
  return {
    train: { dataset, indices: split.train, source: `${split.train.length} images of ${source} (seeded stratified split, seed ${seed})` },
    test: { dataset, indices: split.test, source: `the other ${split.test.length} images of ${source}`, heldOut: true },
  };
}

/** The data-free preview: `calibrationImages` + `testImages` seeded synthetic images of the model's input shape, without labels. */
export function dataFreeSplit(analysis: ModelAnalysis, preprocessing: Preprocessing, calibrationImages: number, testImages: number, seed: number): CalibrationSplit {
  const { height, width, channels } = imageInputShape(analysis, preprocessing.layout ?? 'NCHW');
  const count = calibrationImages + testImages;
  // The geometric steps (size, resize) do not apply: the images are made at the input's size.
  const values: Preprocessing = { ...pick(preprocessing, ['scale', 'mean', 'std', 'channelOrder']), layout: preprocessing.layout ?? 'NCHW' };
  const loaded = loadDataset({ synthetic: { count, height, width, channels, classes: 10, seed } }, values).dataset;
  // Unlabelled: the accuracy of a data-free preview is estimated from the agreement with the original.
  const dataset: ImageDataset = { images: loaded.images, layout: loaded.layout, count: loaded.count, channels: loaded.channels, height: loaded.height, width: loaded.width, classNames: loaded.classNames };
  const words = `synthetic ${channels}x${height}x${width} images (data-free preview: no dataset was given; accuracy is estimated)`;
  return {
    calibration: { dataset, indices: Int32Array.from({ length: calibrationImages }, (_, i) => i), source: `${calibrationImages} ${words}` },
    test: { dataset, indices: Int32Array.from({ length: testImages }, (_, i) => calibrationImages + i), source: `${testImages} other ${words}`, heldOut: true },
  };
}

/** Height, width and channels of the model's first input (an image batch in `layout`). */
export function imageInputShape(analysis: ModelAnalysis, layout: Layout): { height: number; width: number; channels: number } {
  const input = analysis.model.inputs[0];
  const dims = input?.shape ?? [];
  const fixed = dims.slice(1).map((d) => (typeof d === 'number' ? d : NaN));
  if (dims.length !== 4 || fixed.some((d) => !(d >= 1))) {
    throw new HalocError('UNSUPPORTED', `the data-free preview needs an image input of 4 fixed dimensions [N, C, H, W] (or NHWC); input '${input?.name ?? '?'}' is [${dims.join(', ')}]: choose a dataset folder instead`);
  }
  const [a, b, c] = fixed as [number, number, number];
  return layout === 'NCHW' ? { channels: a, height: b, width: c } : { height: a, width: b, channels: c };
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => value[k] !== undefined).map((k) => [k, value[k]])) as Pick<T, K>;
}

function allIndices(count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => i);
}
