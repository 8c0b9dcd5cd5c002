// Per-layer output error of every candidate rank on calibration images: the original model runs once
// per batch with the layer inputs exposed, then each layer's error model (all its ranks at once, the
// factorized chains as the rewrite computes them) runs on that layer's input. Sums are accumulated in
// float64 over the batches.
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { batches } from '../data/batches';
import { imagesShape, type ImageDataset } from '../data/imageSet';
import { HalocError } from '../errors';
import type { LayerFactors } from '../factorize/layerFactors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { openActivationTap, type TappedBatch } from './activationTap';
import { errorModelElements, errorOutputs, layerErrorModel } from './layerErrorModel';
import { fixedBatchSize } from './modelBatch';
import { openFedSession, type FedSession } from '../evaluate/fedSession';

/** One layer to measure: its ranks (ascending) and, made when its group runs, its factors. */
export interface ErrorJob {
  readonly layer: LayerAnalysis;
  readonly ranks: readonly number[];
  /** The HOSVD / SVD factors (no HOOI) at the largest rank: each smaller rank's are their leading part. */
  factors(): Promise<LayerFactors>;
}

/** Error-model weights held at once by default (bytes); layers beyond it run in further passes over the images. */
const defaultGroupBytes = 256 * 2 ** 20;

/**
 * Memory bounds of one pass (bytes): the tapped layer inputs of a batch, and the stacked outputs an error
 * model computes at once (every rank's output for its images). Without them a 224 x 224 model's early
 * layers held gigabytes: ResNet-50's search passed 4.4 GB, 43 times the model.
 */
const tapBudgetBytes = 256 * 2 ** 20;
const errorRunBudgetBytes = 256 * 2 ** 20;

/** A layer's measured errors, one entry per rank of its job. */
export interface LayerErrors {
  readonly layer: string;
  readonly ranks: readonly number[];
  /** ||Y_r + shift - Y|| / ||Y||: the relative output error after bias correction. */
  readonly relError: readonly number[];
  /** ||Y_r - Y|| / ||Y||: before bias correction. */
  readonly rawRelError: readonly number[];
  /** Per rank, per output channel: the mean of Y - Y_r (what bias correction adds). */
  readonly shift: readonly Float32Array[];
}

/** Errors of every job and how many images they were measured on. */
export interface CalibrationErrors {
  readonly errors: ReadonlyMap<string, LayerErrors>;
  readonly images: number;
}

/** Settings of a measurement. */
export interface ErrorSettings {
  readonly batchSize?: number;
  readonly threads?: number;
  /** Error-model weights (each layer's weight and factors) held at once (bytes; default 256 MiB). */
  readonly groupBytes?: number;
  /** Stacked outputs an error model computes in one run (bytes; default 256 MiB): fewer images per run beyond it. */
  readonly runBytes?: number;
  /** Tapped layer inputs and outputs held at once (bytes; default 256 MiB): smaller batches beyond it. onnxruntime holds about as much again while it computes them. */
  readonly tapBytes?: number;
}

/** Measures every job on the images of `dataset` at `indices`. */
export async function measureLayerErrors(model: OnnxModel, jobs: readonly ErrorJob[], dataset: ImageDataset, indices: Int32Array, settings: ErrorSettings = {}, cancel: CancelSignal = neverCancelled, progress: (fraction: number) => void = () => undefined): Promise<CalibrationErrors> {
  const errors = new Map<string, LayerErrors>();
  const groups = jobGroups(jobs, settings.groupBytes ?? defaultGroupBytes);
  let images = 0;
  for (const [g, group] of groups.entries()) {
    images = await measureGroup(model, group, dataset, indices, settings, cancel, errors, (f) => progress((g + f) / groups.length));
  }
  return { errors, images };
}

/** Consecutive jobs whose error models' weights fit in `groupBytes` (a larger job alone). */
function jobGroups(jobs: readonly ErrorJob[], groupBytes: number): ErrorJob[][] {
  const groups: ErrorJob[][] = [];
  let bytes = Infinity;
  for (const job of jobs) {
    const size = 4 * errorModelElements(job.layer, job.ranks);
    if (bytes + size > groupBytes) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1]?.push(job);
    bytes += size;
  }
  return groups;
}

/**
 * One pass over the images for a group of jobs; adds their errors to `errors`; returns the images seen.
 * When the tapped activations of every calibration image fit the tap budget, the calibration run ends
 * (its session released) before the error models are opened, one at a time: the tap and the largest
 * error model are never in memory together (VGG-16's fc6). Otherwise the tap and the group's error
 * models stay open together and each batch goes through all of them.
 */
async function measureGroup(model: OnnxModel, jobs: readonly ErrorJob[], dataset: ImageDataset, indices: Int32Array, settings: ErrorSettings, cancel: CancelSignal, errors: Map<string, LayerErrors>, progress: (fraction: number) => void): Promise<number> {
  const threads = settings.threads ?? os.availableParallelism();
  const fixed = fixedBatchSize(model);
  const tapBytes = settings.tapBytes ?? tapBudgetBytes;
  const tappedPerImage = jobs.reduce((sum, job) => sum + 4 * (elementsPerImage(job.layer.inputShape) + elementsPerImage(job.layer.outputShape)), 0);
  const batchSize = fixed ?? Math.max(1, Math.min(settings.batchSize ?? 64, Math.floor(tapBytes / Math.max(1, tappedPerImage))));
  const ort = await import('onnxruntime-node');
  const imageDims = imagesShape(dataset, 1).slice(1);
  const accumulators = jobs.map((job) => new ErrorSums(job));
  const measure = async (j: number, session: FedSession, tapped: TappedBatch, size: number): Promise<void> => {
    const job = jobs[j]!;
    cancel.throwIfCancelled();
    const [input, output] = [tapped.inputs.get(job.layer.name), tapped.outputs.get(job.layer.name)];
    if (!input || !output) throw new HalocError('UNSUPPORTED', `layer '${job.layer.name}': its input or output was not produced by the calibration run`);
    // the stacked outputs of every rank for a few images at a time (the sums add up over the slices)
    const perRun = Math.max(1, Math.floor((settings.runBytes ?? errorRunBudgetBytes) / Math.max(1, 3 * 4 * job.ranks.length * elementsPerImage(job.layer.outputShape))));
    for (const [x, y] of imageSlices(ort, [input, output], size, perRun)) accumulators[j]?.add(await session.run({ x: x!, y: y! }));
  };
  let images = 0;
  /** Runs the calibration tap over every batch (its session released after), handing each batch's activations to `use`. */
  const tapEach = async (use: (tapped: TappedBatch, size: number) => Promise<void>): Promise<void> => {
    const tap = await openActivationTap(model, jobs.map((j) => j.layer), threads);
    try {
      for (const batch of batches(dataset, { batchSize, indices, dropLast: fixed !== undefined && fixed > 1, cancel })) {
        const tapped = await tap.run(batch.images, batch.size, imageDims);
        images += batch.size;
        await use(tapped, batch.size);
      }
    } finally {
      await tap.release();
    }
  };
  if (tappedPerImage * indices.length <= tapBytes) {
    const stored: { readonly tapped: TappedBatch; readonly size: number }[] = [];
    await tapEach(async (tapped, size) => {
      stored.push({ tapped, size });
      progress((0.5 * images) / indices.length);
    });
    for (const [j, job] of jobs.entries()) {
      cancel.throwIfCancelled();
      const session = await openErrorSession(model, job, await job.factors(), threads);
      try {
        for (const { tapped, size } of stored) await measure(j, session, tapped, size);
      } finally {
        await session.release();
      }
      progress(0.5 + (0.5 * (j + 1)) / jobs.length);
    }
  } else {
    const sessions: FedSession[] = [];
    try {
      for (const job of jobs) {
        cancel.throwIfCancelled();
        sessions.push(await openErrorSession(model, job, await job.factors(), threads));
      }
      await tapEach(async (tapped, size) => {
        for (const [j, session] of sessions.entries()) await measure(j, session, tapped, size);
        progress(images / indices.length);
      });
    } finally {
      for (const session of sessions) await session.release();
    }
  }
  if (images === 0) throw new HalocError('BAD_ARGUMENT', `no calibration images to measure layer errors on (the model takes batches of ${batchSize})`);
  for (const a of accumulators) errors.set(a.job.layer.name, a.result());
  return images;
}

/** Elements of one image's tensor of a shape taken at batch 1 (unknown dims count as 1). */
function elementsPerImage(shape: LayerAnalysis['inputShape']): number {
  return (shape ?? []).slice(1).reduce<number>((p, d) => p * (typeof d === 'number' && d > 0 ? d : 1), 1);
}

/**
 * The tensors (float32, `images` along their first axis) in matching slices of at most `perSlice`
 * images; as they are when any first axis is not the images.
 */
function* imageSlices(ort: typeof Ort, tensors: readonly Ort.Tensor[], images: number, perSlice: number): Generator<Ort.Tensor[]> {
  if (perSlice >= images || tensors.some((t) => t.dims[0] !== images || t.type !== 'float32')) {
    yield [...tensors];
    return;
  }
  for (let start = 0; start < images; start += perSlice) {
    const count = Math.min(perSlice, images - start);
    yield tensors.map((t) => {
      const data = t.data as Float32Array;
      const per = data.length / images;
      return new ort.Tensor('float32', data.subarray(start * per, (start + count) * per), [count, ...t.dims.slice(1)]);
    });
  }
}

/** The error model's session (its factors fed, see fedSession); no memory arena (its stacked outputs are large and needed only once per batch). */
function openErrorSession(model: OnnxModel, job: ErrorJob, factors: LayerFactors, threads: number): Promise<FedSession> {
  return openFedSession({ proto: layerErrorModel(model, job.layer, factors, job.ranks).proto, constants: new Map() }, `the error model of layer '${job.layer.name}'`, threads, { memoryArena: false });
}

/** Running sums of one layer over the calibration batches. */
class ErrorSums {
  private sumD: Float64Array | undefined;
  private sumD2: Float64Array | undefined;
  private sumY2 = 0;
  /** Elements per output channel seen so far (batch x positions). */
  private perChannel = 0;

  constructor(readonly job: ErrorJob) {}

  add(out: Ort.InferenceSession.ReturnType): void {
    const sumD = out[errorOutputs.sumD]!.data as Float32Array;
    const sumD2 = out[errorOutputs.sumD2]!.data as Float32Array;
    this.sumD ??= new Float64Array(sumD.length);
    this.sumD2 ??= new Float64Array(sumD2.length);
    for (let i = 0; i < sumD.length; i++) this.sumD[i]! += sumD[i]!;
    for (let i = 0; i < sumD2.length; i++) this.sumD2[i]! += sumD2[i]!;
    this.sumY2 += (out[errorOutputs.sumY2]!.data as Float32Array)[0] ?? 0;
    const shape = Array.from(out[errorOutputs.shapeY]!.data as BigInt64Array, Number);
    const channels = sumD.length / Math.max(1, this.job.ranks.length);
    this.perChannel += shape.reduce((p, d) => p * d, 1) / channels;
  }

  result(): LayerErrors {
    const count = this.job.ranks.length;
    const channels = (this.sumD?.length ?? 0) / Math.max(1, count);
    const norm = this.sumY2 > 0 ? this.sumY2 : 1;
    const relError: number[] = [];
    const rawRelError: number[] = [];
    const shift: Float32Array[] = [];
    for (let k = 0; k < count; k++) {
      let raw = 0;
      let corrected = 0;
      const mean = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        const s = this.sumD?.[k * channels + c] ?? 0;
        const s2 = this.sumD2?.[k * channels + c] ?? 0;
        raw += s2;
        corrected += Math.max(0, s2 - (s * s) / this.perChannel);
        mean[c] = -s / this.perChannel;
      }
      rawRelError.push(Math.sqrt(raw / norm));
      relError.push(Math.sqrt(corrected / norm));
      shift.push(mean);
    }
    return { layer: this.job.layer.name, ranks: this.job.ranks, relError, rawRelError, shift };
  }
}
