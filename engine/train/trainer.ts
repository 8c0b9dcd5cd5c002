// The training loop: batches from engine/data (seeded shuffling and augmentation per epoch), targets
// from labels and/or a teacher run in onnxruntime-node, one backend step per batch, the optimizer and
// the cosine schedule, progress after each step, a cancel check between steps, and checkpoints that
// make a resumed run continue the same loss curve (same seed).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { neverCancelled, type CancelSignal } from '../cancellation';
import type { AugmentSettings } from '../data/augment';
import { batches } from '../data/batches';
import { imagesShape, type ImageDataset } from '../data/imageSet';
import { HalocError } from '../errors';
import { openClassifier, type Classifier } from '../evaluate/classifier';
import type { OnnxModel } from '../onnx/onnxModel';
import { readCheckpoint, writeCheckpoint } from './checkpoint';
import { createBackend, type BackendChoice } from './chooseBackend';
import { Optimizer, type OptimizerSettings } from './optimizer';
import { learningRateAt } from './schedule';
import { trainableInitializers } from './stepGraph';
import { correctTop1, meanEntropy, oneHot, softmaxRows } from './targets';
import type { BatchNormMode } from './trainingGraph';

/** Distillation from a teacher model. */
export interface TeacherSettings {
  /** The teacher: an ONNX file or bytes (run in onnxruntime-node). */
  readonly model: string | Uint8Array;
  readonly temperature: number;
  /** Weight alpha of the distillation term; the label cross-entropy gets 1 - alpha (must be 1 without labels). */
  readonly weight: number;
}

/** Everything a training run needs. */
export interface TrainOptions {
  readonly model: OnnxModel;
  readonly data: ImageDataset;
  /** The images to train on (default all). */
  readonly indices?: Int32Array;
  readonly epochs: number;
  readonly batchSize?: number;
  readonly optimizer: OptimizerSettings;
  /** Linear warm-up steps before the cosine decay (default: 2% of the run, at most 500). */
  readonly warmupSteps?: number;
  readonly seed?: number;
  readonly augment?: AugmentSettings;
  readonly teacher?: TeacherSettings;
  /** Initializers to train (default: every float weight in a differentiable position) ... */
  readonly trainable?: readonly string[];
  /** ... minus these. */
  readonly frozen?: readonly string[];
  readonly batchNorm?: BatchNormMode;
  readonly backend?: BackendChoice;
  /** Save a checkpoint every `everySteps` steps, at the end and when cancelled. */
  readonly checkpoint?: { readonly path: string; readonly everySteps: number };
  /** Continue from the checkpoint file when it exists. */
  readonly resume?: boolean;
  /** Scale the gradients down when their global L2 norm exceeds this (default 5; Infinity disables). */
  readonly maxGradNorm?: number;
  /** Stop after this many steps in total (the schedule still spans the epochs). */
  readonly maxSteps?: number;
  readonly cancel?: CancelSignal;
  readonly onProgress?: (progress: TrainProgress) => void;
  readonly log?: (line: string) => void;
}

/** Progress after a step. */
export interface TrainProgress {
  readonly epoch: number;
  readonly step: number;
  readonly totalSteps: number;
  /** This step's loss ((1 - alpha) CE + alpha T^2 KL). */
  readonly loss: number;
  readonly learningRate: number;
  /** Training images per second over the steps of this run so far (teacher and data included). */
  readonly imagesPerSecond: number;
  /** Top-1 on the training batches of this epoch so far (labels only). */
  readonly trainTop1?: number;
}

/** What a run produced. */
export interface TrainResult {
  /** Trained parameters and running statistics, by initializer name (for writeTrainedModel). */
  readonly weights: Map<string, Float32Array>;
  readonly steps: number;
  readonly losses: readonly number[];
  readonly backend: string;
  readonly imagesPerSecond: number;
  /** The step the run resumed from (0 for a fresh run). */
  readonly resumedAt: number;
}

/** Trains `options.model`; returns the trained weights (the model file is not touched). */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { model, data } = options;
  const cancel = options.cancel ?? neverCancelled;
  const batchSize = options.batchSize ?? 64;
  const seed = options.seed ?? 0;
  const teacher = options.teacher;
  if (!data.labels && !(teacher && teacher.weight === 1)) throw new HalocError('BAD_ARGUMENT', 'training without labels needs a teacher with distillation weight 1');
  if (teacher && !(teacher.weight >= 0 && teacher.weight <= 1 && teacher.temperature > 0)) throw new HalocError('BAD_ARGUMENT', `distillation weight must be in [0, 1] and temperature > 0, not ${teacher.weight} and ${teacher.temperature}`);
  const indices = options.indices ?? Int32Array.from({ length: data.count }, (_, i) => i);
  const stepsPerEpoch = Math.floor(indices.length / batchSize);
  if (stepsPerEpoch < 1) throw new HalocError('BAD_ARGUMENT', `${indices.length} training images are fewer than one batch of ${batchSize}`);
  const totalSteps = Math.min(options.maxSteps ?? Infinity, options.epochs * stepsPerEpoch);

  const frozen = new Set(options.frozen ?? []);
  const trainable = new Set((options.trainable ?? trainableInitializers(model)).filter((n) => !frozen.has(n)));
  const spec = { batch: batchSize, trainable, batchNorm: options.batchNorm ?? 'batch-statistics' } as const;
  const backend = await createBackend(model, spec, options.backend ?? 'auto', options.log);
  const teacherModel: Classifier | undefined = teacher ? await openClassifier(teacher.model) : undefined;
  try {
    const params = new Map(backend.parameters.map((name) => [name, model.constants.get(name)!.toFloat32()]));
    const running = new Map<string, Float32Array>();
    const ranks = new Map(backend.parameters.map((name) => [name, model.constants.get(name)!.dims.length]));
    const optimizer = new Optimizer(options.optimizer, ranks);
    const schedule = { baseRate: options.optimizer.learningRate, totalSteps, warmupSteps: options.warmupSteps ?? Math.min(500, Math.round(totalSteps * 0.02)) };
    const identity = runIdentity(model, options, totalSteps, batchSize, [...params.keys()]);
    const losses: number[] = [];
    let step = 0;
    const checkpointFile = options.checkpoint?.path;
    if (options.resume && checkpointFile && fs.existsSync(checkpointFile)) {
      const saved = readCheckpoint(checkpointFile, identity);
      for (const [name, values] of saved.params) params.set(name, values);
      for (const [name, values] of saved.running) running.set(name, values);
      for (const [name, list] of saved.optimizer) optimizer.state.set(name, [...list]);
      optimizer.steps = saved.step;
      losses.push(...saved.losses);
      step = saved.step;
      options.log?.(`resumed from ${checkpointFile} at step ${step} of ${totalSteps}`);
    }
    if (running.size === 0 && spec.batchNorm === 'batch-statistics') for (const name of runningInputs(model)) running.set(name, model.constants.get(name)!.toFloat32());
    const resumedAt = step;
    const save = (): void => {
      if (checkpointFile) writeCheckpoint(checkpointFile, { identity, step, params, running, optimizer: optimizer.state, losses });
    };
    const classes = backend.classes;
    const imageDims = imagesShape(data, 1).slice(1);
    const distillWeight = teacher?.weight ?? 0;
    const temperature = teacher?.temperature ?? 1;
    const hard = new Float32Array(batchSize * classes);
    const noSoft = new Float32Array(batchSize * classes);
    const started = performance.now();
    let trained = 0;
    try {
      for (let epoch = Math.floor(step / stepsPerEpoch); step < totalSteps; epoch++) {
        let inEpoch = 0;
        let correct = 0;
        let seen = 0;
        for (const batch of batches(data, { batchSize, indices, seed, epoch, dropLast: true, ...(options.augment ? { augment: options.augment } : {}), cancel })) {
          if (epoch * stepsPerEpoch + inEpoch++ < step) continue; // before the resumed position
          if (step >= totalSteps) break;
          cancel.throwIfCancelled();
          if (batch.labels) oneHot(batch.labels, classes, hard);
          let soft: Float32Array = noSoft;
          if (teacherModel) soft = softmaxRows(await teacherModel.logits(batch.images, batch.size, imageDims), classes, temperature);
          const out = await backend.step({ images: batch.images, hardTargets: hard, softTargets: soft, distillWeight, temperature, params, running });
          const kl = teacherModel ? out.distillCrossEntropy - temperature * temperature * meanEntropy(soft, classes) : 0;
          const loss = (1 - distillWeight) * out.crossEntropy + distillWeight * kl;
          if (!Number.isFinite(loss)) throw new HalocError('BAD_ARGUMENT', `training diverged at step ${step} (loss ${loss}); lower the learning rate`);
          const lr = learningRateAt(schedule, step);
          clipGradients(out.grads, options.maxGradNorm ?? 5);
          optimizer.step(params, out.grads, lr);
          for (const [name, values] of out.running) running.set(name, Float32Array.from(values));
          losses.push(loss);
          step++;
          trained += batch.size;
          if (batch.labels) {
            correct += correctTop1(out.logits, batch.labels, classes);
            seen += batch.size;
          }
          const seconds = (performance.now() - started) / 1000;
          options.onProgress?.({ epoch, step, totalSteps, loss, learningRate: lr, imagesPerSecond: trained / seconds, ...(seen ? { trainTop1: correct / seen } : {}) });
          if (options.checkpoint && step % options.checkpoint.everySteps === 0) save();
        }
      }
    } catch (error) {
      if (error instanceof HalocError && error.code === 'CANCELLED') save(); // a resume continues from here
      throw error;
    }
    save();
    const weights = new Map([...params, ...running]);
    return { weights, steps: step, losses, backend: backend.description, imagesPerSecond: trained / ((performance.now() - started) / 1000), resumedAt };
  } finally {
    await backend.dispose();
    await teacherModel?.release();
  }
}

/** Scales every gradient by maxNorm / ||g|| when the global L2 norm ||g|| exceeds maxNorm. */
export function clipGradients(grads: ReadonlyMap<string, Float32Array>, maxNorm: number): number {
  let squares = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) squares += g[i]! * g[i]!;
  const norm = Math.sqrt(squares);
  if (norm > maxNorm) {
    const factor = maxNorm / norm;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i]! *= factor;
  }
  return norm;
}

/** The running-statistics inputs of the model's BatchNormalization nodes (batch-statistics mode updates them). */
function runningInputs(model: OnnxModel): string[] {
  const names: string[] = [];
  for (const node of model.graph.node ?? []) {
    if (node.opType !== 'BatchNormalization') continue;
    for (const i of [3, 4]) {
      const name = node.input?.[i];
      if (name && model.constants.has(name)) names.push(name);
    }
  }
  return names;
}

/** A hash of what determines the run's curve: the model's weights, the data order and the settings. */
function runIdentity(model: OnnxModel, options: TrainOptions, totalSteps: number, batchSize: number, params: readonly string[]): string {
  const hash = createHash('sha256');
  for (const name of params) hash.update(name).update(new Uint8Array(model.constants.get(name)!.toFloat32().buffer));
  hash.update(JSON.stringify({
    totalSteps, batchSize, seed: options.seed ?? 0, epochs: options.epochs, optimizer: options.optimizer, maxGradNorm: options.maxGradNorm ?? 5, augment: options.augment ?? null,
    teacher: options.teacher ? { temperature: options.teacher.temperature, weight: options.teacher.weight } : null,
    batchNorm: options.batchNorm ?? 'batch-statistics', images: options.data.count, indices: options.indices?.length ?? null,
  }));
  return hash.digest('hex');
}
