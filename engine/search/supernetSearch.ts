// The HALOC search proper (HALOC.md, "Search as architecture search"): a supernet with K low-rank
// branches per layer initialised from the truncated factorization (factorize/supernetModel), mixed by
// Gumbel-softmax weights of architecture parameters alpha; the weights are trained (distillation from
// the original plus mu times the feature-map-approaching term) on one split and alpha (task loss plus
// lambda times the expected cost from the latency table, or MACs for the FLOPs baseline) on another,
// alternating step by step while tau anneals from 5 to 0.1. Final ranks: argmax alpha (projected onto
// the budget when it exceeds it), with the trained factors of the chosen branches. Each layer's
// options are its worthwhile ranks and the layer as it is. Runs on the onnxruntime training graphs.
import { neverCancelled, type CancelSignal } from '../cancellation';
import { batches, type Batch } from '../data/batches';
import type { ImageDataset } from '../data/imageSet';
import { HalocError } from '../errors';
import { openClassifier } from '../evaluate/classifier';
import { factorsAtRank } from '../factorize/layerBasis';
import type { LayerFactors } from '../factorize/layerFactors';
import type { LayerRank } from '../factorize/rankPlan';
import { factorsFromBranch, supernetModel, type SupernetLayerTensors } from '../factorize/rewriteModel';
import { lowRankMacs } from '../graph/lowRankCost';
import { latencyAtRank } from '../hardware/latencyTable';
import { decodeOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { encodeOnnx } from '../onnx/writeOnnx';
import { seededUniform } from '../random';
import { createOrtBackend } from '../train/ortBackend';
import { Optimizer } from '../train/optimizer';
import { learningRateAt } from '../train/schedule';
import { trainableInitializers } from '../train/stepGraph';
import { oneHot, softmaxRows } from '../train/targets';
import { clipGradients } from '../train/trainer';
import { annealedTemperature, expectedCost, gumbelSoftmax, gumbelSoftmaxBackward, softmax } from './architecture';
import { lagrangianFront, pointWithinBudget } from './lagrangian';
import type { SearchLayer } from './searchLayers';

/** What the search minimises besides the task loss. */
export type SearchCost = 'latency' | 'macs';

/** Settings of one supernet search (one point of the front). */
export interface SupernetSearchSettings {
  readonly model: OnnxModel;
  readonly layers: readonly SearchLayer[];
  /** The cost of everything but the searched layers, in the cost's unit (ms, or MACs). */
  readonly untouchedCost: number;
  readonly cost?: SearchCost;
  readonly data: ImageDataset;
  /** Images for the weight steps and, separately, for the alpha steps. */
  readonly weightIndices: Int32Array;
  readonly archIndices: Int32Array;
  /** Low-rank branches per layer (ranks spread over the layer's worthwhile candidates; default 4). */
  readonly branches?: number;
  /** The layer as it is is one more option (default true). */
  readonly keep?: boolean;
  /** Cost target: the penalty lambda * max(0, expected / budget - 1) (budget), or lambda * expected / original without one. */
  readonly budget?: number;
  readonly costWeight: number;
  /** mu of the feature-map-approaching term (default 1). */
  readonly featureWeight?: number;
  readonly epochs: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly weightLearningRate?: number;
  readonly archLearningRate?: number;
  /** Distillation temperature; the teacher is the original model (labels add 1 - weight of cross-entropy). */
  readonly temperature?: number;
  readonly distillWeight?: number;
  /** An alpha step after every `archEvery`-th weight step (default 1: strict alternation). */
  readonly archEvery?: number;
  /** Per-channel value of the pixels that random-crop padding adds (default 0; blackFill gives black). */
  readonly augmentFill?: readonly number[];
  readonly cancel?: CancelSignal;
  readonly onProgress?: (progress: SupernetProgress) => void;
}

/** Progress after a step pair. */
export interface SupernetProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number;
  readonly featureLoss: number;
  /** Expected cost under softmax(alpha), in the cost's unit. */
  readonly expectedCost: number;
  readonly tau: number;
  readonly imagesPerSecond: number;
}

/** The outcome: the chosen rank and trained factors of every layer, and alpha. */
export interface SupernetResult {
  /** Every layer of the settings: its chosen rank, or 'keep'. */
  readonly ranks: Map<string, LayerRank>;
  /** The trained factors of the layers with a rank. */
  readonly factors: Map<string, LayerFactors>;
  readonly alpha: Map<string, Float32Array>;
  /** The trained values of every other parameter and running statistic, by initializer name (the same names in the compressed model). */
  readonly weights: Map<string, Float32Array>;
  /** Each searched layer's options (alpha's index order; 'keep' last). Layers without a worthwhile rank are not searched. */
  readonly options: Map<string, readonly LayerRank[]>;
  /** True when argmax alpha exceeded the budget and the final ranks are its most probable setting within it. */
  readonly projected: boolean;
  /** The cost of the chosen ranks (untouched part included). */
  readonly cost: number;
  readonly steps: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/** Ranks spread over the candidates, `count` of them, always including the smallest and the largest. */
export function branchRanks(candidates: readonly number[], count: number): number[] {
  if (candidates.length <= count) return [...candidates];
  return [...new Set(Array.from({ length: count }, (_, i) => candidates[Math.round((i * (candidates.length - 1)) / (count - 1))]!))];
}

/** The ranks worth a branch: cheaper than the layer itself and than every larger rank (the start of each latency step). */
export function worthwhileRanks(candidates: readonly number[], costOf: (rank: number) => number, originalCost: number): number[] {
  const ascending = [...candidates].sort((a, b) => a - b);
  const worthwhile: number[] = [];
  let cheapestAbove = originalCost;
  for (let i = ascending.length - 1; i >= 0; i--) {
    const rank = ascending[i]!;
    const c = costOf(rank);
    if (c < cheapestAbove) {
      worthwhile.push(rank);
      cheapestAbove = c;
    }
  }
  return worthwhile.reverse();
}

/** The cost of `layer` at `rank` in the search's unit. */
function costAt(layer: SearchLayer, rank: number, cost: SearchCost): number {
  if (cost === 'latency') return latencyAtRank(layer.entry, rank);
  const shape = layer.layer.lowRankShape;
  return shape ? lowRankMacs(shape, rank) : (layer.layer.macs ?? 0);
}

/** The cost of `layer` as it is. */
function originalCostOf(layer: SearchLayer, cost: SearchCost): number {
  return cost === 'latency' ? layer.entry.originalMs : (layer.layer.macs ?? 0);
}

/** Runs the search. */
export async function supernetSearch(settings: SupernetSearchSettings): Promise<SupernetResult> {
  const cancel = settings.cancel ?? neverCancelled;
  const cost = settings.cost ?? 'latency';
  const batchSize = settings.batchSize ?? 64;
  const mu = settings.featureWeight ?? 1;
  const temperature = settings.temperature ?? 4;
  const distillWeight = settings.data.labels ? (settings.distillWeight ?? 0.9) : 1;
  const { model, data } = settings;
  if (settings.layers.length === 0) throw new HalocError('BAD_ARGUMENT', 'the search has no compressible layer to work on');
  const keep = settings.keep ?? true;
  // each layer's options: the worthwhile ranks (cheaper than the layer, and than every larger rank),
  // spread over `branches`, and the layer as it is; a layer without a worthwhile rank stays as it is
  const worthwhile = settings.layers.map((l) => worthwhileRanks(l.candidates, (r) => costAt(l, r, cost), originalCostOf(l, cost)));
  const layers = settings.layers.filter((_, i) => worthwhile[i]!.length > 0);
  const kept = settings.layers.filter((_, i) => worthwhile[i]!.length === 0);
  if (layers.length === 0) throw new HalocError('BAD_ARGUMENT', `no layer has a rank that costs less than the layer itself (${cost === 'latency' ? 'by the latency table' : 'in MACs'}): nothing to search`);
  const ranksOf: readonly (readonly number[])[] = settings.layers.map((_, i) => branchRanks(worthwhile[i]!, settings.branches ?? 4)).filter((r) => r.length > 0);
  const optionsOf: readonly (readonly LayerRank[])[] = ranksOf.map((ranks) => (keep ? [...ranks, 'keep'] : ranks));
  const branchFactors = await Promise.all(layers.map((l, i) => Promise.all(ranksOf[i]!.map((r) => factorsAtRank(l.basis, r)))));
  const built = supernetModel(model, layers.map((l, i) => ({ layer: l.layer, branches: branchFactors[i]!, keep })));
  const supernet = decodeOnnxModel(encodeOnnx(built.proto), model.filePath);
  const tensors: readonly SupernetLayerTensors[] = built.layers;
  const costs = layers.map((l, i) => optionsOf[i]!.map((r) => (r === 'keep' ? originalCostOf(l, cost) : costAt(l, r, cost))));
  const untouchedCost = settings.untouchedCost + kept.reduce((s, l) => s + originalCostOf(l, cost), 0);
  const original = untouchedCost + layers.reduce((s, l) => s + originalCostOf(l, cost), 0);

  // the reference convs of the searched layers stay frozen; everything else trains
  const references = new Set(layers.map((l) => model.graph.node?.[l.layer.nodeIndex]?.input?.[1] ?? ''));
  const mixing = new Set(tensors.map((t) => t.mixing));
  const trainable = new Set(trainableInitializers(supernet).filter((n) => !references.has(n)));
  const auxiliaryLosses = new Map(tensors.map((t) => [t.featureLoss, mu / tensors.length]));
  const backend = await createOrtBackend(supernet, { batch: batchSize, trainable, batchNorm: 'batch-statistics', auxiliaryLosses });
  // alpha's steps: the task loss only (the feature-map term would reward branches that shrink the next
  // layer's input), and no weight gradients to compute
  const archBackend = await createOrtBackend(supernet, { batch: batchSize, trainable: mixing, batchNorm: 'batch-statistics' });
  const teacher = await openClassifier(encodeOnnx(model.proto));
  try {
    const params = new Map(backend.parameters.map((n) => [n, supernet.constants.get(n)!.toFloat32()]));
    const weightNames = backend.parameters.filter((n) => !mixing.has(n));
    const rankOf = (name: string): number => supernet.constants.get(name)!.dims.length;
    const weightOptimizer = new Optimizer({ kind: 'adamw', learningRate: settings.weightLearningRate ?? 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 }, new Map(weightNames.map((n) => [n, rankOf(n)])));
    const alpha = new Map(tensors.map((t, i) => [t.mixing, new Float32Array(optionsOf[i]!.length)]));
    const archOptimizer = new Optimizer({ kind: 'adamw', learningRate: settings.archLearningRate ?? 3e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, new Map());
    const stepsPerEpoch = Math.floor(settings.weightIndices.length / batchSize);
    const totalSteps = Math.max(1, Math.round(settings.epochs * stepsPerEpoch));
    const schedule = { baseRate: settings.weightLearningRate ?? 1e-3, totalSteps, warmupSteps: Math.min(200, Math.round(totalSteps * 0.02)) };
    const random = seededUniform((settings.seed ?? 0) ^ 0x2545f491);
    const running = new Map<string, Float32Array>();
    for (const node of supernet.graph.node ?? []) if (node.opType === 'BatchNormalization') for (const i of [3, 4]) if (node.input?.[i]) running.set(node.input[i]!, supernet.constants.get(node.input[i]!)!.toFloat32());
    const classes = backend.classes;
    const imageDims = [data.channels, data.height, data.width];
    const hard = new Float32Array(batchSize * classes);
    const targetsOf = async (batch: Batch): Promise<{ hard: Float32Array; soft: Float32Array }> => {
      if (batch.labels) oneHot(batch.labels, classes, hard);
      return { hard, soft: softmaxRows(await teacher.logits(batch.images, batch.size, imageDims), classes, temperature) };
    };
    const sample = (tau: number): void => {
      for (const t of tensors) params.set(t.mixing, gumbelSoftmax(alpha.get(t.mixing)!, tau, random).weights);
    };
    const stepOn = async (on: typeof backend, batch: Batch) => {
      const { hard: h, soft } = await targetsOf(batch);
      return on.step({ images: batch.images, hardTargets: h, softTargets: soft, distillWeight, temperature, params, running });
    };
    const weightBatches = (epoch: number) => batches(data, { batchSize, indices: settings.weightIndices, seed: settings.seed ?? 0, epoch, dropLast: true, augment: { padding: Math.round(data.height / 8), flip: true, ...(settings.augmentFill ? { fill: settings.augmentFill } : {}) }, cancel });
    let archEpoch = 0;
    let archIterator = batches(data, { batchSize, indices: settings.archIndices, seed: (settings.seed ?? 0) + 1, epoch: archEpoch, dropLast: true, cancel });
    const nextArchBatch = (): Batch => {
      let next = archIterator.next();
      if (next.done) {
        archIterator = batches(data, { batchSize, indices: settings.archIndices, seed: (settings.seed ?? 0) + 1, epoch: ++archEpoch, dropLast: true, cancel });
        next = archIterator.next();
        if (next.done) throw new HalocError('BAD_ARGUMENT', `the architecture split has fewer than ${batchSize} images`);
      }
      return next.value;
    };
    const archEvery = Math.max(1, Math.round(settings.archEvery ?? 1));
    let lastExpected = original;
    let images = 0;
    const started = performance.now();
    let step = 0;
    for (let epoch = 0; step < totalSteps; epoch++) {
      for (const batch of weightBatches(epoch)) {
        if (step >= totalSteps) break;
        cancel.throwIfCancelled();
        const tau = annealedTemperature(step, totalSteps);
        // weights, on the training split
        sample(tau);
        const w = await stepOn(backend, batch);
        const weightGrads = new Map(weightNames.map((n) => [n, w.grads.get(n)!]));
        clipGradients(weightGrads, 5);
        weightOptimizer.step(params, weightGrads, learningRateAt(schedule, step));
        for (const [name, values] of w.running) running.set(name, Float32Array.from(values));
        step++;
        images += batchSize;
        const featureLoss = [...w.auxiliary.values()].reduce((s, v) => s + v, 0) / Math.max(1, w.auxiliary.size);
        const loss = (1 - distillWeight) * w.crossEntropy + distillWeight * w.distillCrossEntropy;
        if (step % archEvery !== 0 && step !== totalSteps) {
          settings.onProgress?.({ step, totalSteps, loss, featureLoss, expectedCost: lastExpected, tau, imagesPerSecond: images / ((performance.now() - started) / 1000) });
          continue;
        }
        // alpha, on the architecture split: task loss through the mixing weights + the cost term
        sample(tau);
        const a = await stepOn(archBackend, nextArchBatch());
        let expected = untouchedCost;
        const costGradients = tensors.map((t, i) => {
          const e = expectedCost(alpha.get(t.mixing)!, costs[i]!);
          expected += e.value;
          return e.gradient;
        });
        const penaltyScale = settings.budget !== undefined ? (expected > settings.budget ? settings.costWeight / settings.budget : 0) : settings.costWeight / original;
        const archGrads = new Map(tensors.map((t, i) => {
          const g = gumbelSoftmaxBackward(params.get(t.mixing)!, a.grads.get(t.mixing)!, tau);
          return [t.mixing, Float32Array.from(g, (v, k) => v + penaltyScale * costGradients[i]![k]!)];
        }));
        archOptimizer.step(alpha, archGrads, settings.archLearningRate ?? 3e-3);
        lastExpected = expected;
        images += batchSize;
        settings.onProgress?.({ step, totalSteps, loss, featureLoss, expectedCost: expected, tau, imagesPerSecond: images / ((performance.now() - started) / 1000) });
      }
    }
    const branchNames = new Set(tensors.flatMap((t) => t.branchWeights.flat()));
    // final ranks: argmax alpha per layer; when that exceeds the budget, the most probable setting
    // under softmax(alpha) within it (sum of log-probabilities against cost, fastSearch's allocator)
    const allocatorLayers = layers.map((l, i) => {
      const p = softmax(alpha.get(tensors[i]!.mixing)!);
      return { name: l.layer.name, options: optionsOf[i]!.map((rank, k) => ({ rank, cost: costs[i]![k]!, error: -Math.log(Math.max(p[k]!, 1e-30)) })) };
    });
    const front = lagrangianFront(allocatorLayers);
    const chosen = settings.budget === undefined ? front[0]! : (pointWithinBudget(front, settings.budget - untouchedCost) ?? front.at(-1)!);
    const ranks = new Map<string, LayerRank>(kept.map((l) => [l.layer.name, 'keep']));
    const factors = new Map<string, LayerFactors>();
    layers.forEach((l, i) => {
      const k = chosen.choice[i]!;
      const rank = optionsOf[i]![k]!;
      ranks.set(l.layer.name, rank);
      if (rank !== 'keep') factors.set(l.layer.name, factorsFromBranch(l.layer, branchFactors[i]![k]!, tensors[i]!.branchWeights[k]!.map((n) => params.get(n) ?? supernet.constants.get(n)!.toFloat32())));
    });
    const chosenCost = untouchedCost + chosen.cost;
    const seconds = (performance.now() - started) / 1000;
    return {
      projected: chosen !== front[0], ranks, factors, options: new Map(layers.map((l, i) => [l.layer.name, optionsOf[i]!])), cost: chosenCost, steps: step, seconds,
      alpha: new Map(layers.map((l, i) => [l.layer.name, alpha.get(tensors[i]!.mixing)!])),
      weights: new Map([...[...params].filter(([n]) => !branchNames.has(n) && !mixing.has(n)), ...running]),
      imagesPerSecond: images / seconds,
    };
  } finally {
    await backend.dispose();
    await archBackend.dispose();
    await teacher.release();
  }
}
