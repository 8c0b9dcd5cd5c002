// `haloc finetune <compressed.onnx> --teacher <original.onnx> --data <folder|tar> [...]`: distillation
// (and label) fine-tuning, printing top-1 before and after on a held-out split that training never sees.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedCancelFlag } from '../cancellation';
import { blackFill } from '../data/augment';
import { subsetDataset, type ImageDataset } from '../data/imageSet';
import { splitIndices } from '../data/splits';
import { HalocError } from '../errors';
import { evaluateAccuracy } from '../evaluate/accuracy';
import { readOnnxModel } from '../onnx/onnxModel';
import { parseBackendChoice } from '../train/chooseBackend';
import { encodeTrained, writeTrainedModel } from '../train/exportTrained';
import type { OptimizerSettings } from '../train/optimizer';
import { trainModel } from '../train/trainer';
import { UsageError, type CliCommand, type CliInvocation } from './cliArgs';
import { loadDataFromFlags, numberOption, positiveInteger, preprocessingOf, preprocessingOptions, preprocessingUsage } from './dataArgs';

/** The finetune command. */
export const finetuneCommand: CliCommand = {
  name: 'finetune',
  usage: `haloc finetune <compressed.onnx> --teacher <original.onnx> --data <folder|tar> [--eval-data <folder|tar> | --holdout 0.1] ${preprocessingUsage} [--epochs 2] [--batch-size 64] [--optimizer adamw|sgd] [--lr 1e-3 (sgd: 0.01)] [--weight-decay 0.01 (sgd: 5e-4)] [--temperature 4] [--distill-weight 0.9] [--no-augment] [--seed 0] [--checkpoint file (default <out>.ckpt)] [--resume] [--backend auto|onnxruntime|tfjs] [-o out.onnx] [--json]`,
  summary: 'fine-tune a compressed model by distillation from the original; top-1 before and after on held-out data',
  options: {
    teacher: { type: 'string' },
    data: { type: 'string' },
    'eval-data': { type: 'string' },
    holdout: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    'weight-decay': { type: 'string' },
    temperature: { type: 'string' },
    'distill-weight': { type: 'string' },
    'no-augment': { type: 'boolean' },
    seed: { type: 'string' },
    checkpoint: { type: 'string' },
    resume: { type: 'boolean' },
    backend: { type: 'string' },
    output: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    ...preprocessingOptions,
  },
  async run({ positionals, values, print }) {
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('finetune takes exactly one model file');
    if (typeof values.data !== 'string') throw new UsageError('finetune needs --data <folder|tar>');
    const json = values.json === true;
    const log = (line: string): void => {
      if (!json) process.stderr.write(`${line}\n`);
    };
    const model = readOnnxModel(file);
    const teacherPath = typeof values.teacher === 'string' ? values.teacher : undefined;
    const preprocessing = preprocessingOf(values);
    const { dataset } = loadDataFromFlags(values.data, values, log);
    const seed = positiveInteger(values, 'seed') ?? 0;
    const { train, heldOut, heldOutName } = heldOutSplit(dataset, values, seed, log);
    const distillWeight = numberOption(values, 'distill-weight', teacherPath ? (dataset.labels ? 0.9 : 1) : 0, 0, 1);
    if (distillWeight > 0 && !teacherPath) throw new UsageError('--distill-weight needs --teacher');
    const epochs = numberOption(values, 'epochs', 2, 0.01);
    const batchSize = positiveInteger(values, 'batch-size') ?? 64;
    const optimizer = optimizerFrom(values);
    const output = typeof values.output === 'string' ? values.output : defaultOutput(file);

    const before = heldOut ? await evaluateAccuracy(file, heldOut.dataset, { indices: heldOut.indices }) : undefined;
    if (before) log(`before fine-tuning: top-1 ${(100 * before.top1).toFixed(2)}% on ${heldOutName}`);
    const stepsPerEpoch = Math.floor(train.indices.length / batchSize);
    const started = performance.now();
    let lastLog = 0;
    // Ctrl-C stops between steps and keeps the checkpoint, so that --resume continues the same run
    const checkpoint = typeof values.checkpoint === 'string' ? values.checkpoint : `${output}.ckpt`;
    const cancel = new SharedCancelFlag();
    const onInterrupt = (): void => cancel.cancel();
    process.once('SIGINT', onInterrupt);
    const result = await trainModel({
      model,
      data: dataset,
      indices: train.indices,
      epochs: Math.ceil(epochs),
      maxSteps: Math.max(1, Math.round(epochs * stepsPerEpoch)),
      batchSize,
      optimizer,
      seed,
      ...(values['no-augment'] === true ? {} : { augment: { padding: Math.round(dataset.height / 8), flip: true, fill: blackFill(preprocessing.mean ?? [0], preprocessing.std ?? [1]) } }),
      ...(teacherPath ? { teacher: { model: teacherPath, temperature: numberOption(values, 'temperature', 4, 0.01), weight: distillWeight } } : {}),
      backend: parseBackendChoice(typeof values.backend === 'string' ? values.backend : 'auto'),
      checkpoint: { path: checkpoint, everySteps: 100 },
      resume: values.resume === true,
      cancel,
      log,
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastLog < 5000 && p.step !== p.totalSteps) return;
        lastLog = now;
        log(`step ${p.step}/${p.totalSteps} (epoch ${p.epoch + 1}) loss ${p.loss.toFixed(4)} lr ${p.learningRate.toExponential(2)} ${p.imagesPerSecond.toFixed(0)} images/s${p.trainTop1 === undefined ? '' : ` train top-1 ${(100 * p.trainTop1).toFixed(1)}%`}`);
      },
    }).catch((error: unknown) => {
      if (error instanceof HalocError && error.code === 'CANCELLED') throw new HalocError('CANCELLED', `interrupted; the run is saved in ${checkpoint}: add --resume to continue it`);
      throw error;
    }).finally(() => process.off('SIGINT', onInterrupt));
    const seconds = (performance.now() - started) / 1000;
    writeTrainedModel(model, result.weights, output, [file, ...(teacherPath ? [teacherPath] : [])]);
    fs.rmSync(checkpoint, { force: true });
    const after = heldOut ? await evaluateAccuracy(encodeTrained(model, result.weights), heldOut.dataset, { indices: heldOut.indices }) : undefined;
    const report = {
      model: file, teacher: teacherPath ?? null, output, backend: result.backend, steps: result.steps, resumedAt: result.resumedAt, seconds, imagesPerSecond: result.imagesPerSecond,
      heldOut: heldOutName, top1Before: before?.top1 ?? null, top1After: after?.top1 ?? null, top5After: after?.top5 ?? null, finalLoss: result.losses.at(-1) ?? null,
    };
    if (json) {
      print(JSON.stringify(report, null, 2));
      return;
    }
    const pct = (x: number | undefined): string => (x === undefined ? 'n/a' : `${(100 * x).toFixed(2)}%`);
    print([
      `fine-tuned ${file} for ${result.steps} steps in ${formatDuration(seconds)} with ${result.backend} (${result.imagesPerSecond.toFixed(0)} images/s)`,
      heldOut ? `top-1 on ${heldOutName} (measured, not trained on): ${pct(before?.top1)} before -> ${pct(after?.top1)} after (top-5 ${pct(after?.top5)})` : 'no held-out data: accuracy not measured',
      `wrote ${output}`,
    ].join('\n'));
  },
};

interface Subset { readonly dataset: ImageDataset; readonly indices: Int32Array }

/** Training indices, and held-out data: --eval-data, or a seeded stratified split of --data. */
function heldOutSplit(dataset: ImageDataset, values: CliInvocation['values'], seed: number, log: (line: string) => void): { train: Subset; heldOut: Subset | undefined; heldOutName: string } {
  const all = { dataset, indices: Int32Array.from({ length: dataset.count }, (_, i) => i) };
  if (typeof values['eval-data'] === 'string') {
    const evalData = loadDataFromFlags(values['eval-data'], values, log).dataset;
    if (!evalData.labels) throw new HalocError('BAD_ARGUMENT', `${values['eval-data']} has no labels; held-out accuracy needs an ImageFolder with class sub-folders`);
    return { train: all, heldOut: { dataset: evalData, indices: Int32Array.from({ length: evalData.count }, (_, i) => i) }, heldOutName: values['eval-data'] };
  }
  if (!dataset.labels) return { train: all, heldOut: undefined, heldOutName: 'none' };
  const fraction = numberOption(values, 'holdout', 0.1, 0.001, 0.9);
  const split = splitIndices(dataset.count, dataset.labels, { train: 1 - fraction, test: fraction }, seed);
  const heldOut = subsetDataset(dataset, split.test);
  return { train: { dataset, indices: split.train }, heldOut: { dataset: heldOut, indices: Int32Array.from({ length: heldOut.count }, (_, i) => i) }, heldOutName: `a held-out ${(100 * fraction).toFixed(0)}% of ${String(values.data)} (seed ${seed})` };
}

function optimizerFrom(values: CliInvocation['values']): OptimizerSettings {
  const kind = values.optimizer ?? 'adamw';
  const weightDecay = numberOption(values, 'weight-decay', kind === 'adamw' ? 0.01 : 5e-4, 0, 1);
  if (kind === 'sgd') return { kind, learningRate: numberOption(values, 'lr', 0.01, 1e-8, 10), momentum: 0.9, nesterov: true, weightDecay };
  if (kind === 'adamw') return { kind, learningRate: numberOption(values, 'lr', 1e-3, 1e-8, 10), beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay };
  throw new UsageError(`--optimizer must be sgd or adamw, not '${String(kind)}'`);
}


function defaultOutput(file: string): string {
  const parsed = path.parse(file);
  return path.join(parsed.dir, `${parsed.name}.finetuned.onnx`);
}

function formatDuration(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
